export {
  PocketMQError,
  QueueFullError,
  TimeoutError,
  RemoteError,
  ClosedError,
  StorageLockedError,
  CorruptLogError,
} from './errors.js';
