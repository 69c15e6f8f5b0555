import { ValidationError } from './errors.js';
import { toError } from './events.js';
import { isThenable } from './is-thenable.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { expected } from './validate.js';

/** Where a validation happens, for the {@link ValidationError} it raises. */
export type ValidationSite = { argument: string } | { queue: string; messageId: string };

/** The `schema` option: undefined, or an object that implements Standard Schema v1. */
export function checkSchema(argument: string, value: unknown): StandardSchemaV1 | undefined {
  if (value === undefined) return undefined;
  const props = (typeof value === 'object' || typeof value === 'function') && value !== null ? (value as Partial<StandardSchemaV1>)['~standard'] : undefined;
  if (typeof props !== 'object' || props === null || props.version !== 1 || typeof props.validate !== 'function') {
    throw expected(argument, 'a Standard Schema v1 (a zod, valibot or arktype schema...: an object whose `~standard` has `version: 1` and a `validate` function)', value);
  }
  return value as StandardSchemaV1;
}

/**
 * Validates `value`: the schema's output, or a {@link ValidationError} thrown (for a
 * synchronous schema) or rejected (for an asynchronous one). A synchronous schema
 * answers synchronously, so sends keep their order without waiting a microtask.
 */
export function validateWith(schema: StandardSchemaV1, value: unknown, site: ValidationSite): unknown {
  const result = schema['~standard'].validate(value);
  return isThenable(result) ? Promise.resolve(result).then((r) => outputOf(r, site)) : outputOf(result, site);
}

function outputOf(result: StandardSchemaV1.Result<unknown>, site: ValidationSite): unknown {
  if (result.issues) throw new ValidationError(result.issues, site);
  return result.value;
}

/** What failed a validation, as a {@link ValidationError}: a schema that throws instead of reporting issues fails the body the same way. */
export function asValidationError(error: unknown, site: ValidationSite): ValidationError {
  return error instanceof ValidationError ? error : new ValidationError([{ message: `the schema threw: ${toError(error).message}` }], site);
}
