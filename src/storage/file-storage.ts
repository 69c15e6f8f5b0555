import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import type { Clock, TimerHandle } from '../clock.js';
import { encodeBody } from '../codec.js';
import { CorruptLogError, PocketMQError } from '../errors.js';
import { reportError } from '../events.js';
import { checkClock, checkInteger, checkKeys, checkMs, checkObject, checkOneOf, checkString, expected } from '../validate.js';
import type { EngineRestorer } from '../engine/persistence.js';
import { EngineStorage } from './engine-storage.js';
import { FILE_HEADER_SIZE, type FileIo, frameEnd, framesAfter, fsyncDir, nodeIo, scanFrames, SEGMENT_HEADER, SNAPSHOT_HEADER, writeFully } from './file-log.js';
import { acquireLock } from './file-lock.js';
import { BadPayloadError, type EncodedBodies, encodeSnapshot, Fold, RecordJournal, segmentName, snapshotName, writeSnapshot } from './file-snapshot.js';
import type { EnqueuePolicy, EnqueueResult, NewMessage } from './storage.js';

/** Options of {@link FileStorage}. */
export interface FileStorageOptions {
  /**
   * Directory of the log. Created (mode 0700) when missing; one process at a time owns it.
   * An existing directory that every user may write to (mode `o+w`, e.g. 0777) is left as it
   * is, with a `'warning'` (code `ERR_STORAGE_DIR_WORLD_WRITABLE`) when it is opened: any
   * local user could change or delete its messages.
   */
  dir: string;
  /**
   * When written data is forced to disk. `'always'`: every batch is fsynced before
   * its operations resolve (survives power loss). `'interval'`: fsync at most
   * `fsyncInterval` ms after a write (survives `kill -9`; power loss may lose the last
   * interval). `'never'`: left to the OS (survives `kill -9` only). In every mode an
   * operation resolves only once its bytes reached the OS.
   * @defaultValue `'always'`
   */
  fsync?: 'always' | 'interval' | 'never';
  /** With `fsync: 'interval'`, the most ms between a write and its fsync. @defaultValue `1000` */
  fsyncInterval?: number;
  /**
   * What to do when the log is damaged before its tail. Unset: `open()` rejects with
   * `CorruptLogError`. `'truncate'`: cut the log at the damage (reported through the
   * `recovered` event) and open with what came before it.
   * @defaultValue unset
   */
  repair?: 'truncate';
  /**
   * Bytes after which the log moves on to a new segment file; at that point, when
   * live messages take less than a quarter of the log, the log is compacted instead.
   * @defaultValue `16777216` (16 MiB)
   */
  segmentSize?: number;
  /** Time source for every queue on this storage; a `TestClock` in tests. @defaultValue the system clock */
  clock?: Clock;
}

/** Defaults of {@link FileStorageOptions}, in one place. */
const FILE_DEFAULTS = {
  fsync: 'always',
  fsyncInterval: 1_000,
  segmentSize: 16 * 1024 * 1024,
} as const;

/** What {@link FileStorage} cut from its log on open; given to the `recovered` event. */
export interface RecoveryInfo {
  /** The file that was cut. */
  readonly file: string;
  /** Byte offset in `file` where the good data ends and the cut begins. */
  readonly offset: number;
  /** Bytes discarded (in `file` and in any later file removed with it). */
  readonly bytesDiscarded: number;
  /** Batches discarded: the incomplete one at a torn tail, plus any good batches after damage that `repair: 'truncate'` cut. */
  readonly batchesDiscarded: number;
  /** `'tail'`: a torn or garbage tail after the last complete batch (normal after a crash). `'repair'`: damage before the tail, cut because of `repair: 'truncate'`. */
  readonly kind: 'tail' | 'repair';
}

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

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let settle!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    settle = rej;
  });
  const reject = (error: Error) => {
    // Every waiter is awaited by the operations that made it; this keeps a waiter no
    // one awaits any more (its operations were rejected another way) from being "unhandled".
    promise.catch(() => {});
    settle(error);
  };
  return { promise, resolve, reject };
}

/**
 * Batch fsyncs that take less than this on average run on the event loop, longer
 * ones in the thread pool. An SSD answers in well under a millisecond; a spinning
 * disk or a busy network volume takes several.
 */
const FAST_FSYNC_MS = 1;

/** Options key (a symbol: not an option users can pass by name) for the write and fsync functions. */
const IO = Symbol('pocketmq.fileIo');

/** Internal, for tests that make writes fail or come out short: options that make a FileStorage use `io`. */
export function withFileIo(options: FileStorageOptions, io: FileIo): FileStorageOptions {
  return Object.assign({}, options, { [IO]: io });
}

const SEGMENT = /^log-(\d{8})\.pmq$/;
const SNAPSHOT = /^snapshot-(\d{8})\.pmq$/;

/** The segment file being appended to. */
interface Segment {
  readonly index: number;
  readonly path: string;
  readonly fd: number;
  size: number;
}

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
 * the body object that was sent; after a restart, its decoded copy.
 */
export class FileStorage extends EngineStorage {
  /** The directory, as an absolute path. */
  readonly dir: string;
  readonly #fsync: 'always' | 'interval' | 'never';
  readonly #fsyncInterval: number;
  readonly #repair: boolean;
  readonly #segmentSize: number;
  readonly #io: FileIo;
  readonly #journal = new RecordJournal();
  readonly #events = new EventEmitter<FileStorageEvents>();

  #opening: Promise<void> | undefined = undefined;
  #opened = false;
  #closing: Promise<void> | undefined = undefined;
  #releaseLock: (() => void) | undefined = undefined;
  #segment: Segment | undefined = undefined;
  /** Bytes of the snapshot and segments that open would read: what compaction weighs live data against. */
  #logBytes = 0;
  /** Set when open cut a damaged snapshot, which must be rewritten before the log goes on. */
  #needsSnapshot = false;
  /** After a failed write or fsync: the error every operation rejects with. */
  #failure: Error | undefined = undefined;

  /** Resolved when the records now in the journal are durable. */
  #waiter: Deferred | undefined = undefined;
  /**
   * Resolved when the batch (or snapshot) being written now is durable; undefined when
   * none is. An operation that writes nothing waits for it: its result (a dedupe hit, a
   * read) may rest on records of that batch, which a power loss could still take away.
   */
  #writing: Promise<void> | undefined = undefined;
  #flushing: Promise<void> | undefined = undefined;
  /** The flush to come: an Immediate (`'always'`), or `true` for a queued microtask. */
  #immediate: ReturnType<typeof setImmediate> | true | undefined = undefined;
  #unsynced = false;
  /** When the oldest write not yet fsynced was made (clock time), with `fsync: 'interval'`. */
  #unsyncedSince = 0;
  #syncDue = false;
  #syncTimer: TimerHandle | undefined = undefined;
  /** Moving average of recent batch fsyncs, in ms: see {@link FileStorage.#syncBatch}. */
  #fsyncMs = 0;

  /** @param options Where and how to keep the log. */
  constructor(options: FileStorageOptions) {
    const o = checkObject('options', options);
    checkKeys('options', o, ['dir', 'fsync', 'fsyncInterval', 'repair', 'segmentSize', 'clock']);
    const dir = checkString('options.dir', o.dir);
    super(checkClock('options.clock', o.clock));
    this.dir = resolve(dir);
    this.#fsync = o.fsync === undefined ? FILE_DEFAULTS.fsync : checkOneOf('options.fsync', o.fsync, ['always', 'interval', 'never']);
    this.#fsyncInterval = o.fsyncInterval === undefined ? FILE_DEFAULTS.fsyncInterval : checkMs('options.fsyncInterval', o.fsyncInterval, 1);
    this.#repair = o.repair === undefined ? false : checkOneOf('options.repair', o.repair, ['truncate']) === 'truncate';
    this.#segmentSize = o.segmentSize === undefined ? FILE_DEFAULTS.segmentSize : checkInteger('options.segmentSize', o.segmentSize, 4096);
    this.#io = (o as { [IO]?: FileIo })[IO] ?? nodeIo;
    this.engine.journal = this.#journal;
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
    return this.run(() => undefined).then(() => this.#whileWriting(() => this.#compact()));
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
    if (this.#failure) throw this.#failure;
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
    const journal = this.#journal;
    if (journal.failure && !this.#failure) this.#fail(journal.failure);
    if (this.#failure) return Promise.reject(this.#failure);
    // Any pending record makes the operation wait for its batch, not only its own:
    // an operation can run inside another's signals (a consumer claims on a wake-up),
    // and the outer one must still wait for the records it wrote.
    if (journal.count === 0) return this.#writing;
    if (!this.#waiter) {
      this.#waiter = deferred();
      this.clock.track?.(this.#waiter.promise);
      this.#scheduleFlush();
    }
    return this.#waiter.promise;
  }

  // ------------------------------------------------------------------- writing

  #scheduleFlush(): void {
    if (this.#immediate !== undefined || this.#flushing) return;
    if (this.#fsync !== 'always') {
      // Without an fsync per batch, a write costs a few microseconds: the batch goes
      // out once the operations started together (a Promise.all of sends, a
      // consumer's acks) have run, without waiting for a turn of the event loop.
      this.#immediate = true;
      queueMicrotask(() => {
        this.#immediate = undefined;
        void this.#flush();
      });
      return;
    }
    // One turn of the event loop: every operation of this tick joins the batch and its fsync.
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      void this.#flush();
    });
  }

  #flush(): Promise<void> {
    this.#flushing ??= this.#flushLoop().finally(() => {
      this.#flushing = undefined;
      if (!this.#failure && (this.#journal.count > 0 || this.#syncDue)) this.#scheduleFlush();
    });
    return this.#flushing;
  }

  /** Writes batches one at a time until nothing is pending; never rejects (a failure latches). */
  async #flushLoop(): Promise<void> {
    const journal = this.#journal;
    while (!this.#failure && (journal.count > 0 || this.#syncDue)) {
      const segment = this.#segment!;
      try {
        if (journal.count > 0) {
          const waiter = this.#waiter ?? deferred();
          this.#waiter = undefined;
          try {
            // Framing (encoder, CRC) can throw too: inside the try, so its operations reject.
            const frame = journal.take(this.engine.lastToken);
            writeFully(this.#io, segment.fd, frame, segment.size);
            segment.size += frame.length;
            this.#logBytes += frame.length;
            if (this.#fsync === 'always') {
              const syncing = this.#syncBatch(segment.fd);
              if (syncing) {
                this.#writing = waiter.promise;
                try {
                  await syncing;
                } finally {
                  this.#writing = undefined;
                }
              }
            }
            else if (this.#fsync === 'interval') this.#markUnsynced();
          } catch (error) {
            this.#fail(error);
            waiter.reject(this.#failure!);
            return;
          }
          waiter.resolve();
        } else {
          this.#syncDue = false;
          this.#unsynced = false;
          await this.#io.fsync(segment.fd);
        }
        if (segment.size >= this.#segmentSize) await this.#rollOver();
      } catch (error) {
        this.#fail(error);
        return;
      }
    }
  }

  /**
   * The fsync of an `'always'` batch. While the disk answers within
   * {@link FAST_FSYNC_MS}, it runs on the event loop: an fsync in the thread pool
   * costs two thread hand-offs on top of the disk's own time, which for an awaited
   * send on a fast disk is about as much again. A slower disk would hold the event
   * loop that long on every batch, so its fsyncs go to the thread pool, and come
   * back once they are fast again. Returns a promise only when it went there.
   */
  #syncBatch(fd: number): Promise<void> | undefined {
    const io = this.#io;
    const start = io.now();
    const timed = () => {
      this.#fsyncMs = this.#fsyncMs * 0.75 + (io.now() - start) * 0.25;
    };
    if (this.#fsyncMs >= FAST_FSYNC_MS) return io.fsync(fd).then(timed);
    io.fsyncSync(fd);
    timed();
    return undefined;
  }

  #markUnsynced(): void {
    const now = this.clock.now();
    if (!this.#unsynced) {
      this.#unsynced = true;
      this.#unsyncedSince = now;
    } else if (now - this.#unsyncedSince >= this.#fsyncInterval) {
      // Batches go out without a turn of the event loop, so a long loop of awaited
      // sends can keep the timer below from firing: the writes check the time too.
      this.#syncDue = true;
    }
    if (this.#syncTimer !== undefined) return;
    this.#syncTimer = this.clock.setTimer(
      () => {
        this.#syncTimer = undefined;
        if (!this.#unsynced || this.#failure || !this.#segment) return;
        this.#syncDue = true;
        void this.#flush();
      },
      this.#fsyncInterval,
      false,
    );
  }

  /** Runs `task` when no batch is being written, with batches held back until it is done. */
  async #whileWriting(task: () => Promise<void>): Promise<void> {
    while (this.#flushing) await this.#flushing;
    this.checkOpen();
    const done = task().catch((error: unknown) => {
      this.#fail(error);
      throw this.#failure;
    });
    this.#flushing = done.then(
      () => undefined,
      () => undefined,
    );
    try {
      await done;
    } finally {
      this.#flushing = undefined;
      if (!this.#failure && this.#journal.count > 0) this.#scheduleFlush();
    }
  }

  /** The active segment is full: compact when live data is a small part of the log, else start a new segment. */
  async #rollOver(): Promise<void> {
    const journal = this.#journal;
    const liveBytes = journal.live * journal.averagePutBytes();
    if (liveBytes * 4 < this.#logBytes) await this.#compact();
    else this.#startSegment(this.#segment!.index + 1);
  }

  /**
   * Writes the whole state as snapshot N+1, starts segment N+1, then deletes what
   * came before. Records not yet written are in the snapshot, so their operations
   * resolve with it.
   */
  async #compact(): Promise<void> {
    const journal = this.#journal;
    const waiter = this.#waiter ?? deferred();
    journal.clear();
    this.#waiter = undefined;
    this.#writing = waiter.promise;
    try {
      const index = this.#segment!.index + 1;
      const frames = encodeSnapshot(this.engine.exportState(this.clock.now()));
      const size = await writeSnapshot(this.#io, this.dir, index, frames);
      this.#startSegment(index);
      this.#logBytes = size + SEGMENT_HEADER.length;
      this.#unsynced = false;
      this.#removeBefore(index);
      journal.calibrate(journal.live, size);
    } catch (error) {
      this.#fail(error);
      waiter.reject(this.#failure!);
      throw error;
    } finally {
      this.#writing = undefined;
    }
    waiter.resolve();
  }

  /** Creates segment `index` and makes it the one written to. */
  #startSegment(index: number): void {
    const path = join(this.dir, segmentName(index));
    const fd = fs.openSync(path, 'w', 0o600);
    try {
      fs.writeSync(fd, SEGMENT_HEADER);
      fs.fsyncSync(fd);
      fsyncDir(this.dir);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
    const previous = this.#segment;
    this.#segment = { index, path, fd, size: SEGMENT_HEADER.length };
    this.#logBytes += SEGMENT_HEADER.length;
    if (previous) {
      // What was written to the old segment must be as durable as the mode promises before it is let go.
      if (this.#unsynced) fs.fsyncSync(previous.fd);
      fs.closeSync(previous.fd);
    }
    this.#unsynced = false;
  }

  /** Deletes segments and snapshots older than `index`, then makes that durable. */
  #removeBefore(index: number): void {
    let removed = false;
    for (const name of fs.readdirSync(this.dir)) {
      const match = SEGMENT.exec(name) ?? SNAPSHOT.exec(name);
      if (match && Number(match[1]) < index) {
        fs.rmSync(join(this.dir, name), { force: true });
        removed = true;
      }
    }
    if (removed) fsyncDir(this.dir);
  }

  /** Latches the first failure: from now on every operation rejects with it. */
  #fail(cause: unknown): void {
    if (this.#failure) return;
    const message = cause instanceof Error ? cause.message : String(cause);
    this.#failure = new PocketMQError(
      'ERR_STORAGE_FAILED',
      `FileStorage "${this.dir}" stopped after a failed write: ${message}. Operations that resolved are durable; open the directory again to go on`,
      { cause },
    );
    const pending = this.#waiter;
    this.#waiter = undefined;
    this.#journal.clear();
    pending?.reject(this.#failure);
    reportError(this.#events, this.#failure, `FileStorage "${this.dir}"`);
  }

  #warn(warning: PocketMQError): void {
    if (this.#events.listenerCount('warning') > 0) this.#events.emit('warning', warning);
    else process.emitWarning(warning);
  }

  // ---------------------------------------------------------------- open/close

  async #open(): Promise<void> {
    const dir = this.dir;
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
    try {
      this.#recover();
    } catch (error) {
      if (this.#segment) fs.closeSync(this.#segment.fd);
      this.#segment = undefined;
      release();
      throw error;
    }
    this.#releaseLock = release;
    // A repaired snapshot has no end record: replace it before anything else is written.
    if (this.#needsSnapshot) await this.#compact();
    this.flushSignals();
  }

  /** Replays the newest snapshot and the segments after it into the engine, cutting a torn tail. */
  #recover(): void {
    const dir = this.dir;
    const segments: number[] = [];
    const snapshots: number[] = [];
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith('.tmp')) {
        // A snapshot a crash interrupted before its rename: never part of the state.
        fs.rmSync(join(dir, name), { force: true });
        continue;
      }
      const segment = SEGMENT.exec(name);
      if (segment) segments.push(Number(segment[1]));
      const snapshot = SNAPSHOT.exec(name);
      if (snapshot) snapshots.push(Number(snapshot[1]));
    }
    segments.sort((a, b) => a - b);
    const base = snapshots.length === 0 ? 0 : Math.max(...snapshots);
    const live = segments.filter((index) => index >= base);
    for (let i = 1; i < live.length; i++) {
      if (live[i] !== live[i - 1]! + 1) throw new CorruptLogError(join(dir, segmentName(live[i - 1]! + 1)), 0, 'the segment is missing');
    }
    if (base > 0 && live.length > 0 && live[0] !== base) throw new CorruptLogError(join(dir, segmentName(base)), 0, 'the segment is missing');

    const restorer = this.engine.beginRestore();
    try {
      this.#replay(restorer, base, live);
    } catch (error) {
      restorer.abort();
      throw error;
    }
  }

  #replay(restorer: EngineRestorer, base: number, live: number[]): void {
    const dir = this.dir;
    const fold = new Fold(restorer);
    let bytes = 0;
    let cut = false;
    if (base > 0) {
      const path = join(dir, snapshotName(base));
      const result = this.#replayFile(path, SNAPSHOT_HEADER, fold, false);
      bytes += result.size;
      if (result.cut || !fold.ended) {
        if (!result.cut && !this.#repair) throw new CorruptLogError(path, result.size, 'the snapshot has no end record');
        // A damaged snapshot: everything after the damage goes, segments included.
        this.#removeFrom(live, 0);
        live.length = 0;
        cut = true;
      }
    }
    for (let i = 0; i < live.length && !cut; i++) {
      const path = join(dir, segmentName(live[i]!));
      const result = this.#replayFile(path, SEGMENT_HEADER, fold, i === live.length - 1);
      bytes += result.size;
      if (result.cut && i < live.length - 1) {
        this.#removeFrom(live, i + 1);
        live.length = i + 1;
        cut = true;
      }
    }
    restorer.finish(this.clock.now());
    // Compaction weighs live messages by the bytes a record takes here; puts are the
    // largest records, so twice the average record is a fair first guess.
    const messages = restorer.messageCount();
    this.#journal.calibrate(messages, messages * 2 * (bytes / Math.max(1, fold.records)));
    this.#needsSnapshot = cut && base > 0;
    this.#logBytes = bytes;
    const last = live[live.length - 1];
    if (last === undefined) {
      this.#startSegment(Math.max(base, 1));
    } else {
      const path = join(dir, segmentName(last));
      const fd = fs.openSync(path, 'r+');
      this.#segment = { index: last, path, fd, size: fs.fstatSync(fd).size };
    }
    this.#removeBefore(base);
  }

  /** Deletes the segments `live[from..]`. */
  #removeFrom(live: readonly number[], from: number): void {
    for (let i = from; i < live.length; i++) fs.rmSync(join(this.dir, segmentName(live[i]!)), { force: true });
    if (from < live.length) fsyncDir(this.dir);
  }

  /**
   * Replays one file into `fold`. A torn or garbage tail of the last segment is cut
   * and reported. Damage anywhere else throws CorruptLogError, or with
   * `repair: 'truncate'` is cut and reported too (`cut: true`). Returns the size kept.
   */
  #replayFile(path: string, header: Buffer, fold: Fold, isLast: boolean): { size: number; cut: boolean } {
    const buf = fs.readFileSync(path);
    if (buf.length < FILE_HEADER_SIZE || !buf.subarray(0, FILE_HEADER_SIZE).equals(header)) {
      // A segment whose header a crash interrupted is empty: rewrite the header.
      const torn = buf.length < FILE_HEADER_SIZE && header.subarray(0, buf.length).equals(buf);
      if (!(torn && isLast) && !this.#repair) throw new CorruptLogError(path, 0, 'the file header is wrong');
      this.#truncate(path, 0, header);
      if (buf.length > 0) this.#report({ file: path, offset: 0, bytesDiscarded: buf.length, batchesDiscarded: 0, kind: torn && isLast ? 'tail' : 'repair' });
      return { size: header.length, cut: !(torn && isLast) };
    }
    let badPayload = -1;
    let result;
    try {
      result = scanFrames(buf, FILE_HEADER_SIZE, (payload, offset) => {
        try {
          fold.apply(payload);
        } catch (error) {
          if (error instanceof BadPayloadError) badPayload = offset;
          throw error;
        }
      });
    } catch (error) {
      if (!(error instanceof BadPayloadError)) throw error;
      // A checksum that passes rules out a torn write: the writer never makes such a
      // batch, so it is damage wherever it is, the last batch included.
      const after = framesAfter(buf, frameEnd(buf, badPayload));
      result = { end: badPayload, state: 'damaged' as const, framesAfter: after.framesAfter, detail: `the batch there passes its checksum but ${error.message}${after.framesAfter > 0 ? `, and ${after.detail.replace('a bad batch is followed by ', '')} follow it` : ''}` };
    }
    if (result.state === 'clean') return { size: buf.length, cut: false };
    const damaged = result.state === 'damaged' || !isLast;
    if (damaged && !this.#repair) {
      throw new CorruptLogError(path, result.end, result.state === 'damaged' ? result.detail : 'a bad batch ends a segment that is not the last');
    }
    this.#truncate(path, result.end);
    this.#report({
      file: path,
      offset: result.end,
      bytesDiscarded: buf.length - result.end,
      batchesDiscarded: 1 + result.framesAfter,
      kind: damaged ? 'repair' : 'tail',
    });
    return { size: result.end, cut: damaged };
  }

  #truncate(path: string, size: number, header?: Buffer): void {
    const fd = fs.openSync(path, 'r+');
    try {
      fs.ftruncateSync(fd, size);
      if (header) fs.writeSync(fd, header, 0, header.length, 0);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  #report(info: RecoveryInfo): void {
    this.#events.emit('recovered', info);
  }

  async #close(): Promise<void> {
    this.closed = true;
    if (this.#opening) await this.#opening.catch(() => undefined);
    if (!this.#opened) return;
    while (this.#flushing || (!this.#failure && this.#journal.count > 0)) await this.#flush();
    if (this.#immediate !== undefined && this.#immediate !== true) clearImmediate(this.#immediate);
    if (this.#syncTimer !== undefined) this.clock.clearTimer(this.#syncTimer);
    const segment = this.#segment!;
    let error: unknown;
    try {
      if (this.#unsynced && !this.#failure) await this.#io.fsync(segment.fd);
    } catch (e) {
      error = e;
    }
    fs.closeSync(segment.fd);
    this.#segment = undefined;
    this.#releaseLock?.();
    this.#releaseLock = undefined;
    if (error) throw error;
  }
}

/** Encodes each body once, before the engine runs, so a body JSON cannot encode stores nothing. */
function encodeBodies(items: readonly NewMessage[]): EncodedBodies {
  // Most operations send one message: no map for them.
  if (items.length === 1) return { body: items[0]!.body, text: encodeBody(items[0]!.body) };
  const bodies = new Map<unknown, string>();
  for (const item of items) if (!bodies.has(item.body)) bodies.set(item.body, encodeBody(item.body));
  return bodies;
}
