import { InvalidBodyError } from './errors.js';

/**
 * The JSON rule for message bodies, checked at send on every storage so that a
 * test on MemoryStorage refuses what FileStorage and RedisStorage (which keep
 * JSON text) would refuse or give back changed. A body is:
 * `undefined` (top level only), `null`, a boolean, a string, a finite number,
 * an array of bodies without holes or `undefined`, or a plain object (prototype
 * `Object.prototype` or `null`) whose values are bodies. An object property whose
 * value is `undefined` or whose key is a symbol is left out, and `-0` reads back as
 * `0`, as JSON does; every other change JSON would make (`NaN`, `Infinity`, a `Date`,
 * a `Map`, a class instance, a function, a symbol, a bigint, a cycle) is refused.
 * (Looking for symbol keys too would more than double the cost of a check.)
 */
export function checkBody(body: unknown, argument = 'body'): void {
  if (body === null || body === undefined || typeof body === 'string' || typeof body === 'boolean') return;
  let problem: string | undefined;
  try {
    problem = visit(body, 0);
  } catch (error) {
    forgetAncestors();
    // A getter of the body threw, or the call stack ran out (JSON.stringify would give up too).
    if (!(error instanceof RangeError)) throw error;
    problem = 'a value nested too deeply to check';
  }
  forgetAncestors();
  if (problem === undefined) return;
  let path = argument;
  for (let i = pathFromLeaf.length - 1; i >= 0; i--) path += pathFromLeaf[i];
  pathFromLeaf.length = 0;
  throw new InvalidBodyError(
    argument,
    path,
    `Expected \`${argument}\` to be JSON that reads back unchanged (null, a boolean, a string, a finite number, or arrays and plain objects of them), got ${problem} at \`${path}\``,
  );
}

/** `ancestors[0..depth)`: the objects from the body down to the value being checked; a cycle returns to one of them. */
const ancestors: (object | undefined)[] = [];
/** How many entries of `ancestors` the current check has set. */
let ancestorsUsed = 0;

/** Lets the checked body's objects be collected. (Setting `length = 0` instead doubled the cost of a check.) */
function forgetAncestors(): void {
  for (let i = 0; i < ancestorsUsed; i++) ancestors[i] = undefined;
  ancestorsUsed = 0;
}
/** Path segments (`.key`, `[2]`), the leaf's first, filled in as a failed check unwinds. */
const pathFromLeaf: string[] = [];
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const hasOwn = Object.prototype.hasOwnProperty;

/** What is wrong with `value` (at `depth` objects below the body), or `undefined` when it is a body. */
function visit(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${String(value)}, which JSON stores as null`;
    case 'undefined':
      return 'undefined in an array, which JSON stores as null';
    case 'bigint':
      return 'a bigint, which JSON cannot store';
    case 'symbol':
      return 'a symbol, which JSON leaves out';
    case 'function':
      return 'a function, which JSON leaves out';
  }
  if (value === null) return undefined;
  const object = value as object;
  for (let i = 0; i < depth; i++) if (ancestors[i] === object) return 'a circular reference, which JSON cannot store';
  // Assigned, not pushed: entries past `depth` are stale and never read, and nothing is allocated per object.
  ancestors[depth] = object;
  if (depth >= ancestorsUsed) ancestorsUsed = depth + 1;
  return Array.isArray(object) ? visitArray(object, depth + 1) : visitObject(object, depth + 1);
}

function visitArray(array: unknown[], depth: number): string | undefined {
  for (let i = 0; i < array.length; i++) {
    const problem = i in array ? visit(array[i], depth) : 'a hole in an array, which JSON stores as null';
    if (problem !== undefined) {
      pathFromLeaf.push(`[${i}]`);
      return problem;
    }
  }
  return undefined;
}

function visitObject(object: object, depth: number): string | undefined {
  const prototype = Object.getPrototypeOf(object) as object | null;
  // A plain object of this realm or another (its prototype is that realm's Object.prototype), or a bare one.
  if (prototype !== Object.prototype && prototype !== null && Object.getPrototypeOf(prototype) !== null) {
    const name = (prototype.constructor as { name?: unknown } | undefined)?.name;
    const what = typeof name === 'string' && name !== '' ? `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}` : 'an object that is not a plain object';
    return `${what}, which JSON does not give back as it is`;
  }
  for (const key in object) {
    if (!hasOwn.call(object, key)) continue;
    const item = (object as Record<string, unknown>)[key];
    if (item === undefined) continue;
    const problem = visit(item, depth);
    if (problem !== undefined) {
      pathFromLeaf.push(IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
      return problem;
    }
  }
  return undefined;
}
