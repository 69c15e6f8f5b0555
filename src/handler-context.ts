/**
 * The second argument of a `consume()` handler (and of a durable subscription's handler).
 *
 * ```ts
 * orders.consume(async (msg, { signal }) => {
 *   await fetch(url, { body: JSON.stringify(msg.body), signal });
 * });
 * ```
 */
export interface HandlerContext {
  /**
   * Aborts when the handler should give up its message: its lease was lost (renewal
   * failed: the reason is a `LeaseLostError`), or the consumer was stopped with
   * `{ abandon: true }` (the reason is a `ClosedError`). Once it aborts, the message
   * may be delivered to another consumer; whatever the handler returns no longer acks it.
   */
  readonly signal: AbortSignal;
}

/**
 * One handler run's context. The AbortController is made only when the handler reads
 * `signal` or the run is aborted: a handler that never looks costs one small object.
 */
export class RunContext implements HandlerContext {
  #controller: AbortController | undefined = undefined;

  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  /** Aborts the signal with `reason` (once; later calls are ignored). */
  abort(reason: unknown): void {
    (this.#controller ??= new AbortController()).abort(reason);
  }
}
