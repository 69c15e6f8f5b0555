/** KEYS: queue. Payload: the counters in QueueStats order after ready, delayed, grouped, inflight. */
export const STATS = `
local base = KEYS[1]
advance(base)
local st = stats(base)
return finish({ st.ready, st.delayed, st.grouped, st.inflight, st.sent, st.delivered, st.acked, st.retried, st.dead,
  st.expired })
`;
