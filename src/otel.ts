export { instrument } from './otel/instrument.js';
export type { InstrumentOptions } from './otel/instrument.js';
