/// <reference lib="esnext.disposable" />
/**
 * `Symbol.asyncDispose`, for `await using`. Node before 20.4 and older browsers lack
 * it; where missing it is defined as Node defines it (`Symbol.for('nodejs.asyncDispose')`),
 * so every copy of this module, and Node itself, agree on one symbol.
 */
if (typeof Symbol.asyncDispose !== 'symbol') {
  Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('nodejs.asyncDispose') });
}

export const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose;
