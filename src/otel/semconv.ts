/**
 * The OpenTelemetry messaging semantic-convention names pocketmq/otel emits (conventions
 * v1.27+: `messaging.operation.type`, `messaging.client.*` metrics). Written out here, not
 * imported from `@opentelemetry/semantic-conventions`, so the entry's only peer is
 * `@opentelemetry/api`; test/otel checks the spans against these strings.
 */
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_MESSAGE_CONVERSATION_ID = 'messaging.message.conversation_id';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ATTR_ERROR_TYPE = 'error.type';
/** Not in the conventions: the delivery's attempt number (1 on the first delivery). */
export const ATTR_POCKETMQ_MESSAGE_ATTEMPT = 'pocketmq.message.attempt';
/** Not in the conventions: the state a depth is counted in (`ready`, `delayed`, `inflight`), named as DESIGN.md's contract names it. */
export const ATTR_QUEUE_STATE = 'state';

export const MESSAGING_SYSTEM = 'pocketmq';

export const METRIC_SENT_MESSAGES = 'messaging.client.sent.messages';
export const METRIC_CONSUMED_MESSAGES = 'messaging.client.consumed.messages';
export const METRIC_PROCESS_DURATION = 'messaging.process.duration';
export const METRIC_QUEUE_DEPTH = 'pocketmq.queue.depth';
export const METRIC_QUEUE_OLDEST_AGE = 'pocketmq.queue.oldest_age';

/** The conventions' advice for `messaging.process.duration`, in seconds. */
export const PROCESS_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
