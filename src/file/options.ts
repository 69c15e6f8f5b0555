import type { Clock } from '../clock.js';
import type { Codec } from '../storage/body-codec.js';

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
   * operation resolves only once its bytes reached the OS. With `'always'` the segment
   * being written is lengthened up to 1 MiB ahead of its data (zeros, sparse where the
   * file system allows) so that a batch needs only an `fdatasync`; it is cut back when
   * closed (docs/file-format.md).
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
  /**
   * Open without taking the directory's lock, to look at a directory another process
   * holds (the `pocketmq` CLI does this). Opening replays the log as it is at that moment
   * and never writes, truncates or deletes a byte of it; a batch the owner is still
   * appending is left out. Reads (`stats`, `peek`, `queues`, browsing) work on that
   * picture and do not follow later changes: open again to see them. Every change
   * (`send`, `receive`, `ack`, `purge`, `remove`, `redrive`, schedules, `compact`) rejects
   * with `ReadOnlyError` (code `ERR_READ_ONLY`). Messages the owner has leased show as
   * ready, since the log does not keep lease times. The directory must exist.
   * @defaultValue `false`
   */
  readOnly?: boolean;
  /** Time source for every queue on this storage; a `TestClock` in tests. @defaultValue the system clock */
  clock?: Clock;
  /**
   * Codecs every stored body goes through, in order, before it is written (in reverse when
   * read): `encryption()` and `signing()` from `pocketmq/crypto`, or `[signing(...),
   * encryption(...)]` to sign, then encrypt. They apply to the log and its snapshots,
   * dead-letter copies and schedule bodies included. A body they cannot read back is
   * dead-lettered with reason `'undecryptable'` or `'bad-signature'` when claimed, never
   * handed to a handler. Set it on an empty directory: bodies written without it count
   * as unreadable. Every codec must be able to encode (a `signing()` codec needs its
   * `privateKey`), because compaction writes bodies again. See docs/security.md.
   * @defaultValue none: bodies are stored as JSON
   */
  codec?: Codec | readonly Codec[];
}

/** Defaults of {@link FileStorageOptions}, in one place. */
export const FILE_DEFAULTS = {
  fsync: 'always',
  fsyncInterval: 1_000,
  segmentSize: 16 * 1024 * 1024,
} as const;

/** When written data is forced to disk: {@link FileStorageOptions.fsync}. */
export type FsyncMode = NonNullable<FileStorageOptions['fsync']>;
