/** KEYS: queue. Payload: the counters in QueueStats order after ready, delayed, grouped, inflight. */
export const STATS = `
local base = KEYS[1]
advance(base)
local counters = stats(base)
return finish({ counters.ready, counters.delayed, counters.grouped, counters.inflight, counters.sent, counters.delivered, counters.acked, counters.retried, counters.dead,
  counters.expired })
`;
