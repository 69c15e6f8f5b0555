/// <reference lib="esnext.disposable" />
/**
 * `Symbol.asyncDispose`, for `await using`. Node before 20.4 and older browsers lack
 * it; where missing it is defined as Node defines it (`Symbol.for('nodejs.asyncDispose')`),
 * so every copy of this module, and Node itself, agree on one symbol.
 */
if (typeof Symbol.asyncDispose !== 'symbol') {
  Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('nodejs.asyncDispose') });
}

/**
 * The body of every `[Symbol.asyncDispose]()`: runs `end` (the handle's close() or stop()).
 * The classes key the method by `Symbol.asyncDispose` itself, which bundlers know has no
 * side effects (a key read from an imported binding kept every class in every bundle);
 * calling this is what brings the definition above along with each class that needs it.
 */
export function disposeWith(end: () => Promise<void>): Promise<void> {
  return end();
}
