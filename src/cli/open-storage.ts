/**
 * Opening the place the global options name: `--file DIR` (read-only when another
 * process holds it), `--redis URL [--prefix P]`, or `--url URL [--token T]`.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, PocketMQError, ReadOnlyError, StorageLockedError } from '../errors.js';
import { FileStorage } from '../file/file-storage.js';
import type { Storage } from '../storage/storage.js';
import { usageError } from './exit-codes.js';
import { HttpInspector } from './http-inspector.js';
import type { Inspector } from './inspector.js';
import { StorageInspector } from './storage-inspector.js';

/** The global options that say where the queues are. */
export interface Place {
  readonly file?: string | undefined;
  readonly redis?: string | undefined;
  readonly prefix?: string | undefined;
  readonly url?: string | undefined;
  readonly token?: string | undefined;
}

/** A storage opened here, and what a user must know about how. */
export interface OpenedStorage {
  readonly storage: Storage;
  /** Set when `--file` was opened read-only: the pid of the process that holds it, if known. */
  readonly heldBy?: { readonly pid: number | undefined };
}

function checkPlace(place: Place): 'file' | 'redis' | 'url' {
  const given = (['file', 'redis', 'url'] as const).filter((key) => place[key] !== undefined);
  if (given.length !== 1) {
    const what = given.length === 0 ? 'none was given' : `got ${given.map((key) => `--${key}`).join(' and ')}`;
    throw usageError('--file', `expected exactly one of --file DIR, --redis URL or --url URL to say where the queues are; ${what}`);
  }
  if (place.prefix !== undefined && given[0] !== 'redis') throw usageError('--prefix', 'only goes with --redis');
  return given[0]!;
}

/**
 * Opens `--file` or `--redis`. A `--file` directory another live process holds is opened
 * read-only; `readOnly` opens it so in every case (a long `stats --watch` must not keep
 * the app that owns the directory from starting).
 */
export async function openStorage(place: Place, options: { readOnly?: boolean } = {}): Promise<OpenedStorage> {
  const kind = checkPlace(place);
  if (kind === 'url') throw usageError('--url', 'this command runs on a storage: give --file DIR or --redis URL');
  if (kind === 'redis') return { storage: await openRedis(place.redis!, place.prefix) };
  const dir = resolve(place.file!);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw usageError('--file', `expected an existing directory, got "${place.file}"`);
  let heldBy: number | undefined;
  if (options.readOnly !== true) {
    const storage = new FileStorage({ dir });
    try {
      await storage.open();
      return { storage };
    } catch (error) {
      await storage.close().catch(() => undefined);
      if (!(error instanceof StorageLockedError)) throw error;
      heldBy = error.pid;
    }
  }
  const storage = new FileStorage({ dir, readOnly: true });
  await storage.open();
  return { storage, heldBy: { pid: heldBy } };
}

async function openRedis(url: string, prefix: string | undefined): Promise<Storage> {
  if (!/^rediss?:\/\//.test(url)) throw usageError('--redis', `expected a redis:// or rediss:// URL, got "${url}"`);
  let redis: typeof import('../redis.js');
  try {
    redis = await import('../redis.js');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes('ioredis')) {
      throw new PocketMQError('ERR_MISSING_PEER', '--redis needs the ioredis package, which is not installed: run `npm install ioredis` where pocketmq is installed', { cause: error });
    }
    throw error;
  }
  let storage: Storage;
  try {
    storage = new redis.RedisStorage({ url, ...(prefix === undefined ? {} : { prefix }) });
  } catch (error) {
    if (error instanceof InvalidArgumentError && error.argument === 'options.prefix') throw usageError('--prefix', error.message);
    throw error;
  }
  await storage.open();
  return storage;
}

/** Where the queues are, as the commands see them. `notes` gets the one-line notes for stderr. */
export async function openInspector(place: Place, notes: (line: string) => void, options: { readOnly?: boolean } = {}): Promise<Inspector> {
  if (checkPlace(place) === 'url') return new HttpInspector(place.url!, place.token);
  const { storage, heldBy } = await openStorage(place, options);
  if (!heldBy) return new StorageInspector(storage);
  const dir = (storage as FileStorage).dir;
  const owner = heldBy.pid === undefined ? 'another process' : `process ${heldBy.pid}`;
  if (options.readOnly !== true) notes(`${dir} is held by ${owner}: opened read-only (ls, peek and stats work; changes go through that process's dashboard, --url)`);
  return new StorageInspector(storage, (operation, error) =>
    error instanceof ReadOnlyError
      ? new ReadOnlyError(
          operation,
          `${operation} refused: ${dir} is held by ${owner}, so it was opened read-only and nothing was changed. Make the change through that process's dashboard: pocketmq ${operation} ... --url <its dashboard URL> --token <its token>`,
        )
      : error,
  );
}
