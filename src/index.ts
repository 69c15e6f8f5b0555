export { Queue } from './queue.js';
export { Consumer } from './consumer.js';
export { Message } from './message.js';
export { Topic } from './topic.js';
export { Subscription } from './subscription.js';
export { RequestReply } from './request-reply.js';
export { MemoryStorage } from './memory/memory-storage.js';
export { systemClock } from './clock.js';
export { DEFAULTS } from './options.js';
export { DEAD_LETTER_HEADERS } from './dead-letter-headers.js';
export { UnreadableBody } from './storage/unreadable-body.js';
export {
  PocketMQError,
  QueueFullError,
  TimeoutError,
  RemoteError,
  ClosedError,
  LeaseLostError,
  StorageLockedError,
  CorruptLogError,
  InvalidArgumentError,
  OutOfRangeError,
  InvalidBodyError,
  AlreadySettledError,
  RunLimitError,
  UnsupportedError,
  ReadOnlyError,
  ValidationError,
  UndecryptableError,
  BadSignatureError,
} from './errors.js';
export type { ValidationIssue } from './errors.js';
export type { StandardSchemaV1 } from './standard-schema.js';

export type { BatchItem } from './queue.js';
export type { LiveListenerOptions, PublishOptions, SubscriptionInfo, SubscriptionOptions, TopicEvents, TopicOptions } from './topic.js';
export type { LiveListener } from './subscription.js';
export type { RequestHandler, RequestOptions, RequestReplyEvents, RequestReplyMetrics, RequestReplyOptions, RequestReplyStats, ServeOptions } from './request-reply.js';
export type { QueueMetrics, QueueRates } from './metrics/queue-metrics.js';
export type { DurationSummary } from './metrics/duration-histogram.js';
export type { Handler } from './consumer.js';
export type { HandlerContext } from './handler-context.js';
export type { MessageInfo, NackOptions, PeekedMessage } from './message.js';
export type { QueueEvents } from './events.js';
export type { Codec, CodecContext } from './storage/body-codec.js';
export type { UnreadableReason } from './storage/unreadable-body.js';
export type { MemoryStorageOptions } from './memory/memory-storage.js';
export type { Clock, TimerHandle, TimerKind, WorkInfo } from './clock.js';
export type { CatchUp, ScheduleInfo, ScheduleOptions, ScheduleSpec } from './schedule.js';
export type {
  BackoffFunction,
  BackoffOptions,
  ConsumeOptions,
  PeekOptions,
  QueueOptions,
  RateLimit,
  ReceiveOptions,
  RedriveOptions,
  ResolvedQueueOptions,
  SendOptions,
  StopOptions,
} from './options.js';
export type {
  Storage,
  StorageCapabilities,
  StorageSignal,
  NewMessage,
  StoredMessage,
  Receipt,
  Settle,
  EnqueuePolicy,
  EnqueueResult,
  ClaimRequest,
  ClaimResult,
  Delivery,
  BrowsedMessage,
  MessageState,
  RedriveRequest,
  DeadLettered,
  DeadLetterInfo,
  QueueStats,
  StoredSchedule,
  ScheduleAdvance,
  FireResult,
} from './storage/storage.js';
