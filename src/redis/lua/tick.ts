/** KEYS: queues. Payload: 0. */
export const TICK = `
for _, base in ipairs(KEYS) do advance(base) end
return finish(0)
`;
