import { InvalidArgumentError, OutOfRangeError } from './errors.js';

/** Describes a received value for an error message: `0 (number)`, `"x" (string)`. */
function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value}" (string)`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `${String(value)} (${typeof value})`;
}

/**
 * The one shape of every argument error: "Expected `name` to be what, got value".
 * `RangeError` asks for an {@link OutOfRangeError}; otherwise an {@link InvalidArgumentError}.
 */
export function expected(name: string, what: string, value: unknown, kind: typeof TypeError | typeof RangeError = TypeError): InvalidArgumentError | OutOfRangeError {
  const message = `Expected \`${name}\` to be ${what}, got ${describe(value)}`;
  return kind === RangeError ? new OutOfRangeError(name, message) : new InvalidArgumentError(name, message);
}

/** "an integer from min to max", shortened to "an integer >= min" when max is only the safe-integer limit. */
function integerRange(min: number, max: number, value: unknown): string {
  if (min === -Number.MAX_SAFE_INTEGER && max === Number.MAX_SAFE_INTEGER) return `a safe integer (from ${min} to ${max})`;
  // Past the upper bound, name it: "an integer >= 1" would not say what was wrong with 2 ** 60.
  if (max === Number.MAX_SAFE_INTEGER && !(typeof value === 'number' && value > max)) return `an integer >= ${min}`;
  return `an integer from ${min} to ${max}`;
}

export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw expected(name, integerRange(min, max, value), value);
  if (value < min || value > max) throw expected(name, integerRange(min, max, value), value, RangeError);
  return value;
}

/** A finite number of milliseconds >= min (Infinity only when allowed). */
export function checkMs(name: string, value: unknown, min = 0, allowInfinity = false): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw expected(name, `a number of milliseconds >= ${min}`, value);
  if (value < min || (!allowInfinity && !Number.isFinite(value))) {
    throw expected(name, `a ${allowInfinity ? '' : 'finite '}number of milliseconds >= ${min}`, value, RangeError);
  }
  return value;
}

export function checkNumber(name: string, value: unknown, min: number, max = Infinity): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw expected(name, `a number`, value);
  if (value < min || value > max) throw expected(name, max === Infinity ? `a number >= ${min}` : `a number from ${min} to ${max}`, value, RangeError);
  return value;
}

/** A finite number >= min: one that arithmetic on it can overflow to Infinity or NaN only by growth the caller bounds. */
export function checkFiniteNumber(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw expected(name, 'a number', value);
  if (value < min || !Number.isFinite(value)) throw expected(name, `a finite number >= ${min}`, value, RangeError);
  return value;
}

export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw expected(name, 'a non-empty string', value);
  return value;
}

export function checkFunction<F>(name: string, value: F): F {
  if (typeof value !== 'function') throw expected(name, 'a function', value);
  return value;
}

export function checkOneOf<const V extends string>(name: string, value: unknown, allowed: readonly V[]): V {
  if (!allowed.includes(value as V)) throw expected(name, `one of ${allowed.map((v) => `'${v}'`).join(', ')}`, value);
  return value as V;
}

export function checkObject(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw expected(name, 'an object', value);
  return value as Record<string, unknown>;
}

export function checkSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || typeof (value as AbortSignal).aborted !== 'boolean' || typeof (value as AbortSignal).addEventListener !== 'function') {
    throw expected(name, 'an AbortSignal', value);
  }
  return value as AbortSignal;
}

/** String headers; values must be strings so every storage can keep them as they are. */
export function checkHeaders(name: string, value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const headers = checkObject(name, value);
  const out: Record<string, string> = {};
  let any = false;
  for (const key of Object.keys(headers)) {
    const v = headers[key];
    if (typeof v !== 'string') throw expected(`${name}.${key}`, 'a string', v);
    // Own data property even for "__proto__", so a header name can never reach a prototype.
    Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    any = true;
  }
  return any ? out : undefined;
}

/** The longest queue, topic or subscription name: names become keys and log records, so they stay short. */
export const MAX_NAME_LENGTH = 200;

/**
 * Queue, topic and subscription names: 1–200 characters of letters, digits and
 * `. _ - : /`, not starting with a separator and without `..`. Names never become
 * file names, but a tight alphabet keeps logs, keys and paths unambiguous.
 */
const NAME = /* @__PURE__ */ new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,${MAX_NAME_LENGTH - 1}}$`);
/**
 * Marks the queues pocketmq keeps for itself (a topic's `<topic>::subscriptions`):
 * no name a user gives contains it, so no handle can write to, consume or purge one.
 */
export const RESERVED_SEPARATOR = '::';

/** Whether `value` is a name a handle accepts (see {@link checkName}): no reserved name, no `..`. */
export function isName(value: unknown): value is string {
  return typeof value === 'string' && NAME.test(value) && !value.includes('..') && !value.includes(RESERVED_SEPARATOR);
}

export function checkName(name: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value) || value.includes('..')) {
    throw expected(name, `a name of 1-${MAX_NAME_LENGTH} letters, digits or . _ - : / that starts with a letter or digit and has no ".."`, value);
  }
  if (value.includes(RESERVED_SEPARATOR)) {
    throw expected(name, `a name without "${RESERVED_SEPARATOR}" (reserved for the queues pocketmq keeps for itself, such as a topic's "<topic>${RESERVED_SEPARATOR}subscriptions")`, value);
  }
  return value;
}


/** Rejects options objects with keys we do not know, so a typo is not silently ignored. */
export function checkKeys(name: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(`${name}.${key}`, `Unknown option \`${name}.${key}\`; expected one of ${known.map((k) => `\`${k}\``).join(', ')}`);
    }
  }
}
