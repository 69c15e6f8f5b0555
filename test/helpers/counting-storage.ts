import type { Storage } from '../../src/storage/storage.js';

/**
 * `storage` seen through a proxy that counts the calls of each method and lets a test
 * replace one (to make it fail). Methods run on the real storage, whose private state
 * a proxy as `this` could not reach.
 */
export function countingStorage(storage: Storage): {
  storage: Storage;
  calls: Map<string, number>;
  replace: <K extends keyof Storage>(method: K, fn: Storage[K] | undefined) => void;
} {
  const calls = new Map<string, number>();
  const replaced = new Map<PropertyKey, unknown>();
  const proxy = new Proxy(storage, {
    get(target, key) {
      const value = replaced.get(key) ?? Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof key === 'string') calls.set(key, (calls.get(key) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    storage: proxy,
    calls,
    replace: (method, fn) => {
      if (fn === undefined) replaced.delete(method);
      else replaced.set(method, fn);
    },
  };
}
