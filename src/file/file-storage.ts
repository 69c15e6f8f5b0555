import * as fs from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { checkClock } from '../clock.js';
import { InvalidArgumentError, PocketMQError, ReadOnlyError } from '../errors.js';
import { CodecChain, checkCodecs } from '../storage/body-codec.js';
import { reportError } from '../events.js';
import { EngineStorage } from '../storage/engine-storage.js';
import type { EnqueuePolicy, EnqueueResult, NewMessage } from '../storage/storage.js';
import { checkInteger, checkKeys, checkMs, checkObject, checkOneOf, checkString, expected } from '../validate.js';
import { type FileIo, fsyncDir, nodeIo } from './file-io.js';
import { acquireLock } from './lock.js';
import { FILE_DEFAULTS, type FileStorageOptions } from './options.js';
import { RecordBodies } from './record-bodies.js';
import { type EncodedBodies, encodeBodies, RecordJournal } from './record-journal.js';
import { replayReadOnly } from './read-only-replay.js';
import { recover, type RecoveryInfo } from './recovery.js';
import { LogWriter } from './writer.js';

/** Events of a {@link FileStorage}. */
export interface FileStorageEvents {
  /** Opening cut a torn tail or (with `repair: 'truncate'`) damage from the log. */
  recovered: (info: RecoveryInfo) => void;
  /** A background write or fsync failed; every later operation rejects until the directory is opened again. */
  error: (error: Error) => void;
  /**
   * Something is unsafe but the storage works: the directory is writable by every user
   * (code `ERR_STORAGE_DIR_WORLD_WRITABLE`). Without a listener it becomes a process warning.
   */
  warning: (warning: PocketMQError) => void;
}

/** Options key (a symbol: not an option users can pass by name) for the write and fsync functions. */
const IO = Symbol('pocketmq.fileIo');

/** Internal, for tests that make writes fail or come out short: options that make a FileStorage use `io`. */
export function withFileIo(options: FileStorageOptions, io: FileIo): FileStorageOptions {
  return Object.assign({}, options, { [IO]: io });
}

/** The operations that change a directory: a storage opened with `readOnly: true` refuses them. */
const CHANGES = [
  'enqueue',
  'enqueueMany',
  'claim',
  'ack',
  'release',
  'deadLetter',
  'extend',
  'forget',
  'purge',
  'putSchedule',
  'deleteSchedule',
  'fireSchedule',
  'remove',
  'redrive',
  'compact',
] as const satisfies readonly (keyof FileStorage)[];

/**
 * Keeps every queue in a directory: the in-process engine plus a write-ahead log,
 * so that messages survive the process being killed and, with the default
 * `fsync: 'always'`, the machine losing power. Node only.
 *
 * Every operation runs on the engine at once; operations started together go to
 * disk in one write (group commit), and each operation resolves when its changes
 * are durable. With `fsync: 'always'` a batch gathers one event-loop tick and is
 * fsynced once; with `'interval'` or `'never'` it is written as soon as the
 * operations started together (a `Promise.all` of sends) have run. On open, the
 * log is replayed; messages that were in flight when the last process died are
 * ready again at once, their attempts kept. One process owns a directory at a time
 * (`StorageLockedError` otherwise); the lock of a process that died is taken over.
 * With `readOnly: true`, a directory another process holds can be looked at.
 *
 * ```ts
 * import { Queue } from 'pocketmq';
 * import { FileStorage } from 'pocketmq/file';
 *
 * const storage = new FileStorage({ dir: './queues' });
 * const jobs = new Queue('jobs', { storage });
 * await jobs.send({ task: 'resize' }); // on disk when this resolves
 * await storage.close();
 * ```
 *
 * Bodies are stored as JSON (`undefined` kept); a body JSON cannot encode is
 * rejected with a TypeError and nothing is stored. In this process consumers get
 * the body object that was sent; after a restart, its decoded copy. With
 * `options.codec` (see `pocketmq/crypto`) every body is written through the codecs:
 * encrypted or signed on disk, in the log and its snapshots alike.
 */
export class FileStorage extends EngineStorage {
  /** The directory, as an absolute path. */
  readonly dir: string;
  readonly #repair: boolean;
  readonly #readOnly: boolean;
  readonly #bodies: RecordBodies;
  readonly #journal: RecordJournal;
  readonly #writer: LogWriter;
  readonly #events = new EventEmitter<FileStorageEvents>();

  #opening: Promise<void> | undefined = undefined;
  #opened = false;
  #closing: Promise<void> | undefined = undefined;
  #releaseLock: (() => void) | undefined = undefined;

  /** @param options Where and how to keep the log. */
  constructor(options: FileStorageOptions) {
    const o = checkObject('options', options);
    checkKeys('options', o, ['dir', 'fsync', 'fsyncInterval', 'repair', 'segmentSize', 'readOnly', 'clock', 'codec']);
    const dir = checkString('options.dir', o.dir);
    const codecs = checkCodecs('options.codec', o.codec);
    const decodeOnly = codecs?.find((codec) => codec.decodeOnly === true);
    if (decodeOnly !== undefined) {
      throw new InvalidArgumentError(
        'options.codec',
        `Expected \`options.codec\` to be codecs that can encode, got codec "${decodeOnly.name}", which can only decode (a signing() codec needs a privateKey here: FileStorage writes bodies again when it compacts its log)`,
      );
    }
    super(checkClock('options.clock', o.clock));
    this.dir = resolve(dir);
    const fsync = o.fsync === undefined ? FILE_DEFAULTS.fsync : checkOneOf('options.fsync', o.fsync, ['always', 'interval', 'never']);
    const fsyncInterval = o.fsyncInterval === undefined ? FILE_DEFAULTS.fsyncInterval : checkMs('options.fsyncInterval', o.fsyncInterval, 1);
    this.#repair = o.repair === undefined ? false : checkOneOf('options.repair', o.repair, ['truncate']) === 'truncate';
    if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean') throw expected('options.readOnly', 'a boolean', o.readOnly);
    this.#readOnly = o.readOnly === true;
    const segmentSize = o.segmentSize === undefined ? FILE_DEFAULTS.segmentSize : checkInteger('options.segmentSize', o.segmentSize, 4096);
    this.#bodies = new RecordBodies(codecs === undefined ? undefined : new CodecChain(codecs));
    this.#journal = new RecordJournal(this.#bodies);
    this.#writer = new LogWriter({
      dir: this.dir,
      fsync,
      fsyncInterval,
      segmentSize,
      io: (o as { [IO]?: FileIo })[IO] ?? nodeIo,
      clock: this.clock,
      engine: this.engine,
      journal: this.#journal,
      bodies: this.#bodies,
      onFailure: (failure) => reportError(this.#events, failure, `FileStorage "${this.dir}"`),
    });
    if (!this.#readOnly) {
      this.engine.journal = this.#journal;
      return;
    }
    // Own properties shadow the methods, so a writable storage's operations carry no check.
    for (const operation of CHANGES) {
      Object.defineProperty(this, operation, {
        value: () =>
          Promise.reject(new ReadOnlyError(operation, `FileStorage "${this.dir}" is open read-only (options.readOnly): ${operation}() would change it and was refused`)),
      });
    }
  }

  /** True when opened with `readOnly: true`: reads only, without the directory's lock. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** Listens to an event of this storage. */
  on<E extends keyof FileStorageEvents>(event: E, listener: FileStorageEvents[E]): this {
    this.#events.on(event, listener as never);
    return this;
  }

  /** Removes a listener added with {@link FileStorage.on}. */
  off<E extends keyof FileStorageEvents>(event: E, listener: FileStorageEvents[E]): this {
    this.#events.off(event, listener as never);
    return this;
  }

  /**
   * Opens the directory: takes its lock and replays the log. Other methods open
   * lazily; call this to see errors (`StorageLockedError`, `CorruptLogError`) early.
   * After a failed open, the next call tries again.
   */
  open(): Promise<void> {
    try {
      this.checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.ensureOpen() ?? Promise.resolve();
  }

  /**
   * Writes what is pending, releases the lock and closes the files; later calls
   * reject with `ClosedError`. Idempotent. Rejects only if the last write or fsync failed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /**
   * Rewrites the log now as one snapshot of the live state and deletes what came
   * before. It also happens on its own when live data is a small part of the log.
   */
  compact(): Promise<void> {
    return this.run(() => undefined).then(() => this.#writer.compactBetweenBatches(() => this.checkOpen()));
  }

  override enqueue(queue: string, items: readonly NewMessage[], policy: EnqueuePolicy, now: number): Promise<EnqueueResult> {
    let bodies: EncodedBodies;
    try {
      bodies = encodeBodies(items);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.run(() => this.#withBodies(bodies, () => this.engine.enqueue(queue, items, policy, now)));
  }

  override enqueueMany(queues: readonly string[], items: readonly NewMessage[], dedupeWindow: number, now: number): Promise<void> {
    let bodies: EncodedBodies;
    try {
      bodies = encodeBodies(items);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.run(() => this.#withBodies(bodies, () => this.engine.enqueueMany(queues, items, dedupeWindow, now)));
  }

  #withBodies<T>(bodies: EncodedBodies, operation: () => T): T {
    this.#journal.bodies = bodies;
    try {
      return operation();
    } finally {
      this.#journal.bodies = undefined;
    }
  }

  /** @internal */
  protected override checkOpen(): void {
    super.checkOpen();
    if (this.#writer.failure) throw this.#writer.failure;
  }

  /** @internal */
  protected ensureOpen(): Promise<void> | undefined {
    if (this.#opened) return undefined;
    // Opened only once the waiters run, so operations issued before the open finished
    // keep their order behind it instead of overtaking the first one.
    this.#opening ??= this.#open().then(
      () => {
        this.#opened = true;
      },
      (error: unknown) => {
        this.#opening = undefined;
        throw error;
      },
    );
    return this.#opening;
  }

  /** @internal */
  protected persist(): Promise<void> | undefined {
    // Read-only, the engine has no journal: what reads change (a TTL passing) stays in memory.
    return this.#readOnly ? undefined : this.#writer.persist();
  }

  #warn(warning: PocketMQError): void {
    if (this.#events.listenerCount('warning') > 0) this.#events.emit('warning', warning);
    else process.emitWarning(warning);
  }

  async #open(): Promise<void> {
    const dir = this.dir;
    if (this.#readOnly) {
      if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw expected('options.dir', 'an existing directory (readOnly opens nothing new)', dir);
      replayReadOnly(dir, () => this.engine.beginRestore(), () => this.clock.now());
      this.flushSignals();
      return;
    }
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fsyncDir(dirname(dir));
    } else {
      const stat = fs.statSync(dir);
      if (!stat.isDirectory()) throw expected('options.dir', 'a directory', dir);
      // Left as it is rather than tightened: the mode is the user's choice (a group may share it); Windows has no such bit.
      if (process.platform !== 'win32' && (stat.mode & 0o002) !== 0) {
        this.#warn(
          new PocketMQError(
            'ERR_STORAGE_DIR_WORLD_WRITABLE',
            `FileStorage directory "${dir}" is writable by every user (mode ${(stat.mode & 0o777).toString(8)}), so any local user can change or delete its messages; it was left as it is (chmod 700 it, or 770 for a group)`,
          ),
        );
      }
    }
    const release = acquireLock(dir);
    let needsSnapshot: boolean;
    try {
      needsSnapshot = recover(
        { dir, repair: this.#repair, clock: this.clock, report: (info) => this.#events.emit('recovered', info), bodies: this.#bodies },
        this.engine,
        this.#writer,
      );
    } catch (error) {
      this.#writer.dropSegment();
      release();
      throw error;
    }
    this.#releaseLock = release;
    // A repaired snapshot has no end record: replace it before anything else is written.
    if (needsSnapshot) await this.#writer.compact();
    this.flushSignals();
  }

  async #close(): Promise<void> {
    this.closed = true;
    if (this.#opening) await this.#opening.catch(() => undefined);
    if (!this.#opened || this.#readOnly) return;
    try {
      await this.#writer.close();
    } finally {
      this.#releaseLock?.();
      this.#releaseLock = undefined;
    }
  }
}
