export { TestClock, TEST_CLOCK_DEFAULTS } from './test-clock.js';
export type { RunAllOptions, RunReport, TestClockOptions } from './test-clock.js';
export type { StalledWork } from './testing/handler-tracker.js';
export { inspect } from './testing/inspect.js';
export type { DelayedMessageInfo, InflightMessageInfo, QueueView, StorageView } from './testing/inspect.js';
