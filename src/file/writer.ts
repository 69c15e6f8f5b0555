import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../clock.js';
import type { Engine } from '../engine/engine.js';
import { PocketMQError } from '../errors.js';
import { type FileIo, fsyncDir, writeFully } from './file-io.js';
import { SEGMENT_HEADER } from './frame.js';
import { removeFilesBefore, segmentName } from './log-files.js';
import type { FsyncMode } from './options.js';
import type { RecordBodies } from './record-bodies.js';
import type { RecordJournal } from './record-journal.js';
import { encodeSnapshot, writeSnapshot } from './snapshot.js';

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
 * An fsync that takes less than this is fast: batch fsyncs run on the event loop
 * unless most recent ones were slow, then in the thread pool. An SSD answers in well
 * under a millisecond; a spinning disk or a busy network volume takes several.
 */
const FAST_FSYNC_MS = 1;

/** How many recent batch fsyncs decide where the next one runs; more than half of them slow sends it to the thread pool. */
const FSYNC_HISTORY = 8;

/**
 * With `fsync: 'always'` the segment is lengthened ahead of its writes, up to this
 * many bytes at a time (never past `segmentSize`). A batch then changes no file size,
 * so its fsync can be an fdatasync, which skips the file system's journal commit that
 * an append's new size costs: about a third of each fsync here (docs/benchmarks.md,
 * "fdatasync into a lengthened segment"). Recovery cuts the zeros after the last frame.
 */
const PREALLOCATE_BYTES = 1024 * 1024;

const RESOLVED = Promise.resolve();

/** How many of the low `bits` bits of `mask` are set. */
function countBits(mask: number, bits: number): number {
  let count = 0;
  for (let i = 0; i < bits; i++) count += (mask >>> i) & 1;
  return count;
}

/** The segment file being appended to. */
interface Segment {
  readonly index: number;
  readonly path: string;
  readonly fd: number;
  /** Bytes written. */
  size: number;
  /** With `fsync: 'always'`, the file's length: `size`, or more when lengthened ahead (zeros past `size`). */
  length: number;
}

/** What a {@link LogWriter} writes, where, and whom it tells when it fails. */
export interface LogWriterSetup {
  readonly dir: string;
  readonly fsync: FsyncMode;
  readonly fsyncInterval: number;
  readonly segmentSize: number;
  readonly io: FileIo;
  readonly clock: Clock;
  readonly engine: Engine;
  /** The engine's journal: the records of the pending batch. */
  readonly journal: RecordJournal;
  /** How a snapshot writes bodies (the journal's way). */
  readonly bodies: RecordBodies;
  /** Called once, with the error every operation rejects with from then on. */
  readonly onFailure: (failure: PocketMQError) => void;
}

/** What recovery replayed, for {@link LogWriter.resume}. */
export interface ReplayedLog {
  /** Bytes of the snapshot and segments kept. */
  readonly bytes: number;
  /** Records they hold. */
  readonly records: number;
  /** Messages live after the replay. */
  readonly messages: number;
  /** The segment to append to; undefined when there is none. */
  readonly last: number | undefined;
  /** The segment to start when there is none. */
  readonly first: number;
}

/**
 * FileStorage's writer: the records of operations started together go out as one
 * batch in one write and, with `fsync: 'always'`, one fsync (group commit); each
 * operation waits for its batch. A full segment rolls over to the next, or the log
 * is compacted into a snapshot. The first failed write or fsync latches.
 */
export class LogWriter {
  readonly #setup: LogWriterSetup;
  readonly #journal: RecordJournal;
  /** After a failed write or fsync: the error every operation rejects with. */
  #failure: Error | undefined = undefined;
  /** Bytes of the snapshot and segments that open would read: what compaction weighs live data against. */
  #logBytes = 0;
  #segment: Segment | undefined = undefined;

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
  /** One bit per recent batch fsync, the newest lowest, set when it was slow: see {@link LogWriter.#syncBatch}. */
  #slowFsyncs = 0;
  /** The segment was lengthened since its last fsync: the next one must be a full fsync, to make the length durable. */
  #lengthUnsynced = false;
  /** False once lengthening a segment ahead failed: see {@link LogWriter.#reserve}. */
  #preallocate = true;

  constructor(setup: LogWriterSetup) {
    this.#setup = setup;
    this.#journal = setup.journal;
  }

  /** After a failed write or fsync: the error every operation rejects with. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Resolves once the records the last operation added are durable (undefined: nothing to wait for). */
  persist(): Promise<void> | undefined {
    const journal = this.#journal;
    if (journal.failure && !this.#failure) this.#fail(journal.failure);
    if (this.#failure) return Promise.reject(this.#failure);
    // Any pending record makes the operation wait for its batch, not only its own:
    // an operation can run inside another's signals (a consumer claims on a wake-up),
    // and the outer one must still wait for the records it wrote.
    if (journal.count === 0) return this.#writing;
    if (!this.#waiter) {
      this.#waiter = deferred();
      this.#setup.clock.track?.(this.#waiter.promise);
      this.#scheduleFlush();
    }
    return this.#waiter.promise;
  }

  // ---------------------------------------------------------------- segments

  /** Takes over the log recovery replayed: appends to its last segment, or starts one. */
  resume(replayed: ReplayedLog): void {
    const { bytes, records, messages, last } = replayed;
    // Compaction weighs live messages by the bytes a record takes here; puts are the
    // largest records, so twice the average record is a fair first guess.
    this.#journal.calibrate(messages, messages * 2 * (bytes / Math.max(1, records)));
    this.#logBytes = bytes;
    if (last === undefined) {
      this.#startSegment(replayed.first);
      return;
    }
    const path = join(this.#setup.dir, segmentName(last));
    const fd = fs.openSync(path, 'r+');
    const size = fs.fstatSync(fd).size;
    this.#segment = { index: last, path, fd, size, length: size };
  }

  /** Creates segment `index` and makes it the one written to. */
  #startSegment(index: number): void {
    const dir = this.#setup.dir;
    const path = join(dir, segmentName(index));
    const fd = fs.openSync(path, 'w', 0o600);
    try {
      fs.writeSync(fd, SEGMENT_HEADER);
      fs.fsyncSync(fd);
      fsyncDir(dir);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
    const previous = this.#segment;
    this.#segment = { index, path, fd, size: SEGMENT_HEADER.length, length: SEGMENT_HEADER.length };
    this.#logBytes += SEGMENT_HEADER.length;
    if (previous) {
      this.#trim(previous);
      // What was written to the old segment must be as durable as the mode promises before it is let go.
      if (this.#unsynced) fs.fsyncSync(previous.fd);
      fs.closeSync(previous.fd);
    }
    this.#unsynced = false;
    this.#lengthUnsynced = false;
  }

  /**
   * With `fsync: 'always'`, makes room for `bytes` more in `segment` ahead of the
   * write (see {@link PREALLOCATE_BYTES}); a write past the file's length makes the
   * next fsync a full one.
   */
  #reserve(segment: Segment, bytes: number): void {
    const end = segment.size + bytes;
    if (end <= segment.length) return;
    this.#lengthUnsynced = true;
    segment.length = end;
    if (!this.#preallocate) return;
    const length = Math.max(end, Math.min(end + PREALLOCATE_BYTES, this.#setup.segmentSize));
    try {
      this.#setup.io.truncate(segment.fd, length);
      segment.length = length;
    } catch {
      // A file-size limit (`ulimit -f`) can refuse the room ahead where the write itself
      // still fits: append from now on, and let a write that does not fit fail as a write.
      this.#preallocate = false;
    }
  }

  /** Cuts the zeros a segment was lengthened by, once it is written to no more. Not fsynced: recovery cuts them too. */
  #trim(segment: Segment): void {
    if (segment.length <= segment.size) return;
    this.#setup.io.truncate(segment.fd, segment.size);
    segment.length = segment.size;
  }

  /** Closes the segment without writing anything: an open that failed. */
  dropSegment(): void {
    if (this.#segment) fs.closeSync(this.#segment.fd);
    this.#segment = undefined;
  }

  // ------------------------------------------------------------------ batches

  #scheduleFlush(): void {
    if (this.#immediate !== undefined || this.#flushing) return;
    if (this.#setup.fsync !== 'always') {
      // Without an fsync per batch, a write costs a few microseconds: the batch goes
      // out once the operations started together (a Promise.all of sends, a
      // consumer's acks) have run, without waiting for a turn of the event loop.
      // A settled promise's reaction, not queueMicrotask(): Node wraps each of those in an
      // async resource (docs/benchmarks.md).
      this.#immediate = true;
      void RESOLVED.then(this.#flushQueued);
      return;
    }
    // One turn of the event loop: every operation of this tick joins the batch and its fsync.
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      void this.#flush();
    });
  }

  readonly #flushQueued = (): void => {
    this.#immediate = undefined;
    void this.#flush();
  };

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
    const { io, fsync } = this.#setup;
    while (!this.#failure && (journal.count > 0 || this.#syncDue)) {
      const segment = this.#segment!;
      try {
        if (journal.count > 0) {
          const waiter = this.#waiter ?? deferred();
          this.#waiter = undefined;
          try {
            // Framing (encoder, CRC) can throw too: inside the try, so its operations reject.
            const frame = journal.take(this.#setup.engine.lastToken);
            if (fsync === 'always') this.#reserve(segment, frame.length);
            writeFully(io, segment.fd, frame, segment.size);
            segment.size += frame.length;
            this.#logBytes += frame.length;
            if (fsync === 'always') {
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
            else if (fsync === 'interval') this.#markUnsynced();
          } catch (error) {
            this.#fail(error);
            waiter.reject(this.#failure!);
            return;
          }
          waiter.resolve();
        } else {
          this.#syncDue = false;
          this.#unsynced = false;
          await io.fsync(segment.fd);
        }
        if (segment.size >= this.#setup.segmentSize) await this.#rollOver();
      } catch (error) {
        this.#fail(error);
        return;
      }
    }
  }

  /**
   * The fsync of an `'always'` batch: on the event loop while the disk answers within
   * {@link FAST_FSYNC_MS} (the thread pool's two hand-offs would cost about as much
   * again), in the thread pool while most of the last {@link FSYNC_HISTORY} were
   * slower, so a slow disk does not hold the event loop. A majority, not an average:
   * on a busy machine one stray slow fsync would otherwise send the next ones to the
   * thread pool, whose hand-offs then kept the average up. Returns a promise only when
   * it went to the thread pool.
   */
  #syncBatch(fd: number): Promise<void> | undefined {
    const io = this.#setup.io;
    const dataOnly = !this.#lengthUnsynced;
    this.#lengthUnsynced = false;
    const start = io.now();
    const timed = () => {
      const slow = io.now() - start >= FAST_FSYNC_MS ? 1 : 0;
      this.#slowFsyncs = ((this.#slowFsyncs << 1) | slow) & ((1 << FSYNC_HISTORY) - 1);
    };
    if (countBits(this.#slowFsyncs, FSYNC_HISTORY) * 2 > FSYNC_HISTORY) return io.fsync(fd, dataOnly).then(timed);
    io.fsyncSync(fd, dataOnly);
    timed();
    return undefined;
  }

  #markUnsynced(): void {
    const { clock, fsyncInterval } = this.#setup;
    const now = clock.now();
    if (!this.#unsynced) {
      this.#unsynced = true;
      this.#unsyncedSince = now;
    } else if (now - this.#unsyncedSince >= fsyncInterval) {
      // Batches go out without a turn of the event loop, so a long loop of awaited
      // sends can keep the timer below from firing: the writes check the time too.
      this.#syncDue = true;
    }
    if (this.#syncTimer !== undefined) return;
    this.#syncTimer = clock.setTimer(
      () => {
        this.#syncTimer = undefined;
        if (!this.#unsynced || this.#failure || !this.#segment) return;
        this.#syncDue = true;
        void this.#flush();
      },
      fsyncInterval,
      false,
    );
  }

  // --------------------------------------------------------------- compaction

  /**
   * {@link LogWriter.compact} when no batch is being written, with batches held back
   * until it is done. `checkOpen` throws when the storage may no longer be written.
   */
  async compactBetweenBatches(checkOpen: () => void): Promise<void> {
    while (this.#flushing) await this.#flushing;
    checkOpen();
    const done = this.compact().catch((error: unknown) => {
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
    if (liveBytes * 4 < this.#logBytes) await this.compact();
    else this.#startSegment(this.#segment!.index + 1);
  }

  /**
   * Writes the whole state as snapshot N+1, starts segment N+1, then deletes what
   * came before. Records not yet written are in the snapshot, so their operations
   * resolve with it.
   */
  async compact(): Promise<void> {
    const { dir, engine, clock, io } = this.#setup;
    const journal = this.#journal;
    const waiter = this.#waiter ?? deferred();
    journal.clear();
    this.#waiter = undefined;
    this.#writing = waiter.promise;
    try {
      const index = this.#segment!.index + 1;
      const frames = encodeSnapshot(engine.exportState(clock.now()), this.#setup.bodies);
      const size = await writeSnapshot(io, dir, index, frames);
      this.#startSegment(index);
      this.#logBytes = size + SEGMENT_HEADER.length;
      this.#unsynced = false;
      removeFilesBefore(dir, index);
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

  // ------------------------------------------------------------ failure, close

  /** Latches the first failure: from now on every operation rejects with it. */
  #fail(cause: unknown): void {
    if (this.#failure) return;
    const message = cause instanceof Error ? cause.message : String(cause);
    const failure = new PocketMQError(
      'ERR_STORAGE_FAILED',
      `FileStorage "${this.#setup.dir}" stopped after a failed write: ${message}. Operations that resolved are durable; open the directory again to go on`,
      { cause },
    );
    this.#failure = failure;
    const pending = this.#waiter;
    this.#waiter = undefined;
    this.#journal.clear();
    pending?.reject(failure);
    this.#setup.onFailure(failure);
  }

  /** Writes what is pending, stops the timers, fsyncs what the mode still owes and closes the segment. */
  async close(): Promise<void> {
    while (this.#flushing || (!this.#failure && this.#journal.count > 0)) await this.#flush();
    if (this.#immediate !== undefined && this.#immediate !== true) clearImmediate(this.#immediate);
    if (this.#syncTimer !== undefined) this.#setup.clock.clearTimer(this.#syncTimer);
    const segment = this.#segment!;
    let error: unknown;
    try {
      if (!this.#failure) this.#trim(segment);
      if (this.#unsynced && !this.#failure) await this.#setup.io.fsync(segment.fd);
    } catch (e) {
      error = e;
    }
    fs.closeSync(segment.fd);
    this.#segment = undefined;
    if (error) throw error;
  }
}
