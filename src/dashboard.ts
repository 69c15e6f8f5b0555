/**
 * `pocketmq/dashboard`: a web page and a JSON API over a storage's queues, served by a
 * Node request listener (docs/dashboard.md). Node only.
 *
 * @packageDocumentation
 */
export { dashboard } from './dashboard/handler.js';
export { DASHBOARD_DEFAULTS } from './dashboard/options.js';

export type { DashboardHandler } from './dashboard/handler.js';
export type { DashboardOptions } from './dashboard/options.js';
export type { MessageJson, QueueSummary } from './dashboard/api.js';
