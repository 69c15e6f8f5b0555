/** KEYS: queue. ARGV from ARGS_AT: id, token pairs. Payload: a settle per pair. */
export const ACK = `
advance(KEYS[1])
return finish(ackPairs(KEYS[1], ARGS_AT))
`;
