// Helpers shared by the bench's orchestrator (index.mjs) and its cases (cases/*.mjs).

/** Thrown by a case when it cannot run here (module not built yet, redis-server absent): printed, not failed. */
export class Skip extends Error {}

export const now = () => performance.now();

/** Imports a pocketmq entry through the package's exports map, as a user would (bench/node_modules/pocketmq links to the repo). */
export async function pocketmq(entry = '') {
  try {
    return await import(`pocketmq${entry}`);
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND' || error?.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
      throw new Skip(`pocketmq${entry} is not built (its source has not landed yet)`);
    }
    throw error;
  }
}

/** Calls `send(i)` for i in [0, n), keeping at most `inFlight` unresolved promises at a time. */
export async function pipelined(n, send, inFlight = 1000) {
  const pending = new Array(inFlight);
  for (let i = 0; i < n; ) {
    let k = 0;
    for (; k < inFlight && i < n; k++, i++) pending[k] = send(i);
    if (k < inFlight) pending.length = k;
    await Promise.all(pending);
  }
}

/** A resolvable promise, for "resolve when the last message was handled". */
export function latch() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

/** A body whose JSON encoding is `bytes` long (at least 20). */
export function bodyOfSize(i, bytes) {
  const base = JSON.stringify({ id: i, pad: '' }).length;
  return { id: i, pad: 'x'.repeat(Math.max(0, bytes - base)) };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const tick = () => new Promise((resolve) => setImmediate(resolve));
