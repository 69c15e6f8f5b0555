/**
 * @internal Marks a storage whose operations take effect in the order they are called,
 * before their promise settles: the engine storages run them synchronously (the promise
 * only waits for durability); RedisStorage sends each script at once on one connection,
 * which Redis runs in order. A consumer then frees an acked message's slot as soon as
 * the ack is made and claims again in the same turn, so the claim never overtakes the
 * ack. Not part of the public Storage interface. A registered symbol, so a storage made
 * by the CommonJS build carries the mark the ESM build looks for, and the other way round.
 */
export const APPLIED_AT_CALL: unique symbol = Symbol.for('pocketmq.appliedAtCall');
