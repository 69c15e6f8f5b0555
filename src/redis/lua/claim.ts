/**
 * KEYS: queue [, dead-letter queue]. ARGV from ARGS_AT: max, leaseMs, maxAttempts.
 * Payload: { delivered (record)..., deadLettered (reason, target, record)... }; a
 * delivered record's T:m string carries its lease token.
 */
export const CLAIM = `
advance(KEYS[1])
return finish(claimUpTo(KEYS[1], KEYS[2] or false, tonumber(ARGV[ARGS_AT]), tonumber(ARGV[ARGS_AT + 1]), tonumber(ARGV[ARGS_AT + 2])))
`;

/**
 * An ack followed by a claim on the same queue (a consumer's acks and its next claim,
 * made in one turn): one script instead of two, applied in that order.
 * KEYS: queue [, dead-letter queue]. ARGV from ARGS_AT: max, leaseMs, maxAttempts, then id, token pairs.
 * Payload: { settles, delivered, deadLettered } as ACK and CLAIM give them.
 */
export const ACK_CLAIM = `
local base = KEYS[1]
advance(base)
local settles = ackPairs(base, ARGS_AT + 3)
local claimed = claimUpTo(base, KEYS[2] or false, tonumber(ARGV[ARGS_AT]), tonumber(ARGV[ARGS_AT + 1]), tonumber(ARGV[ARGS_AT + 2]))
return finish({ settles, claimed[1], claimed[2] })
`;
