import type { Storage } from '../storage/storage.js';
import { checkStorage } from '../queue.js';
import { checkInteger, checkKeys, checkObject, expected } from '../validate.js';

/** Options of {@link dashboard}. */
export interface DashboardOptions {
  /** The storage whose queues the page shows and changes. */
  storage: Storage;
  /**
   * The secret every `/api/*` request must carry as `Authorization: Bearer <token>`.
   * Without one the dashboard answers loopback clients only and refuses every change.
   */
  token?: string;
  /** Refuse every change (redrive, remove, purge), even with the token. @defaultValue `false` */
  readOnly?: boolean;
  /**
   * The path the dashboard is served under, e.g. `'/queues'`; requests outside it go to
   * `next()` (or get a 404). Leave it `''` when the framework strips the mount path
   * (express `app.use('/queues', ...)`). @defaultValue `''`
   */
  basePath?: string;
  /** How often `/api/events` sends the queues, in ms. @defaultValue `1000` */
  interval?: number;
}

/** Every default of {@link DashboardOptions} in one place; the docs cite these. */
export const DASHBOARD_DEFAULTS = {
  readOnly: false,
  basePath: '',
  interval: 1_000,
  /** `GET /api/queues/:name/messages`: `max` when the query has none. */
  messagesMax: 50,
  /** `GET /api/queues/:name/messages`: the largest `max`. */
  messagesLimit: 1_000,
  /** The largest JSON request body read, in bytes. */
  bodyLimit: 64 * 1024,
} as const;

/** {@link DashboardOptions} after validation and defaults. */
export interface ResolvedDashboardOptions {
  readonly storage: Storage;
  readonly token: string | undefined;
  readonly readOnly: boolean;
  readonly basePath: string;
  readonly interval: number;
}

const KEYS = ['storage', 'token', 'readOnly', 'basePath', 'interval'] as const;
const BASE_PATH = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/;

export function resolveDashboardOptions(options: unknown): ResolvedDashboardOptions {
  const o = checkObject('options', options);
  checkKeys('options', o, KEYS);
  // Required here: a dashboard over the process-wide default storage would show another storage than the app's.
  if (o.storage === undefined) throw expected('options.storage', 'a Storage (MemoryStorage, FileStorage or RedisStorage)', o.storage);
  const storage = checkStorage(o.storage);
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.length === 0)) {
    throw expected('options.token', 'a non-empty string', o.token);
  }
  if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean') throw expected('options.readOnly', 'a boolean', o.readOnly);
  if (o.basePath !== undefined && (typeof o.basePath !== 'string' || !BASE_PATH.test(o.basePath))) {
    throw expected('options.basePath', 'a path such as "/queues" (starting with "/", no trailing "/"), or ""', o.basePath);
  }
  return {
    storage,
    token: o.token,
    readOnly: o.readOnly ?? DASHBOARD_DEFAULTS.readOnly,
    basePath: o.basePath ?? DASHBOARD_DEFAULTS.basePath,
    interval: o.interval === undefined ? DASHBOARD_DEFAULTS.interval : checkInteger('options.interval', o.interval, 50),
  };
}
