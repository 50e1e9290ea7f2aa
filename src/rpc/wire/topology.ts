/**
 * Every name and every declaration flag novarpc puts on a broker, in one place
 * (docs/wire-format.md §1, docs/queue-layouts.md). The client, the Target, and both
 * drivers (RabbitMQ and the memory bus) take their names from here; the RabbitMQ driver
 * takes its flags from here too, exactly as oslo.messaging's rabbit driver declares
 * them for the same options: RabbitMQ refuses a redeclaration with other flags (406).
 *
 * Names:
 *
 * | entity | name |
 * |---|---|
 * | control exchange | `control_exchange` (`nova`, `openstack`, …) or the Target's exchange |
 * | work queue, routing key of a cast or call to any server | `<topic>` |
 * | server queue, routing key of a directed cast or call | `<topic>.<server>` |
 * | fanout exchange | `<topic>_fanout` |
 * | a server's fanout queue | `<topic>_fanout_<unique>`, or the stream `<topic>_fanout` |
 * | reply queue | `reply_<unique>` |
 * | `<unique>` | 32 hex characters, or with `use_queue_manager` `<host>:<process>:<n>` |
 * | notification queue and routing key | `<topic>.<priority>` (or the listener's pool) |
 */
import type { TransportOptions } from '../transport-options.js';

/** `<topic>_fanout`: the fanout exchange of a topic (and its stream, with `rabbit_stream_fanout`). */
export function fanoutExchangeName(topic: string): string {
  return `${topic}_fanout`;
}

/** `<topic>.<server>`: the queue (and routing key) of one server of a topic. */
export function serverQueueName(topic: string, server: string): string {
  return `${topic}.${server}`;
}

/** The routing key of a request: `<topic>.<server>` when directed, else `<topic>`. */
export function requestRoutingKey(topic: string, server: string | undefined): string {
  return server ? serverQueueName(topic, server) : topic;
}

/** `reply_<unique>`: a process's reply queue. */
export function replyQueueName(unique: string): string {
  return `reply_${unique}`;
}

/** `<topic>_fanout_<unique>`: one server's own fanout queue. */
export function fanoutQueueName(topic: string, unique: string): string {
  return `${topic}_fanout_${unique}`;
}

/** `<host>:<process>:<n>`: the unique part of names with `use_queue_manager` (oslo 14.7+). */
export function queueManagerUnique(host: string, process: string, counter: number): string {
  return `${host}:${process}:${counter}`;
}

/** `<topic>.<priority>`: routing key (and default queue) of a notification. */
export function notificationRoutingKey(topic: string, priority: string): string {
  return `${topic}.${priority}`;
}

/** The queue of a notification listener for `<topic>.<priority>`: its pool's, or the routing key. */
export function notificationQueueName(routingKey: string, pool: string | undefined): string {
  return pool ?? routingKey;
}

/** Where a Target points, for messages: `compute.host1`, `compute_fanout` or `compute`. */
export function describeDestination(topic: string | undefined, server: string | undefined, fanout: boolean | undefined): string {
  if (fanout) return fanoutExchangeName(`${topic}`);
  return server ? serverQueueName(`${topic}`, server) : `${topic}`;
}

/**
 * The entities an RPC server declares and consumes: its work queue `<topic>` and server
 * queue `<topic>.<server>` bound to the control exchange, and its fanout queue bound to
 * `<topic>_fanout` (a queue of its own, or the shared stream).
 */
export interface RpcServerLayout {
  exchange: string;
  /** `[<topic>, <topic>.<server>]`: queues bound to the control exchange by their own name. */
  workQueues: readonly [string, string];
  fanoutExchange: string;
  fanoutQueue: string;
  /** Routing key binding the fanout queue to the fanout exchange (the topic, as oslo). */
  fanoutBindingKey: string;
  /** The fanout queue is the topic's shared stream (`rabbit_stream_fanout`). */
  fanoutIsStream: boolean;
  /**
   * A graceful stop deletes the fanout queue (oslo does), unless it is the shared stream
   * or a queue-manager name the next start reuses.
   */
  deleteFanoutQueueOnStop: boolean;
}

/** The layout of an RPC server under `options`; `unique` names its own fanout queue. */
export function rpcServerLayout(
  options: Pick<TransportOptions, 'rabbit_stream_fanout' | 'use_queue_manager'>,
  exchange: string,
  topic: string,
  server: string,
  unique: () => string,
): RpcServerLayout {
  const stream = options.rabbit_stream_fanout;
  return {
    exchange,
    workQueues: [topic, serverQueueName(topic, server)],
    fanoutExchange: fanoutExchangeName(topic),
    fanoutQueue: stream ? fanoutExchangeName(topic) : fanoutQueueName(topic, unique()),
    fanoutBindingKey: topic,
    fanoutIsStream: stream,
    deleteFanoutQueueOnStop: !stream && !options.use_queue_manager,
  };
}

/** Flags of a queue declaration (amqplib's `Options.AssertQueue` shape). */
export interface QueueFlags {
  durable: boolean;
  autoDelete: boolean;
  exclusive: boolean;
  arguments: Record<string, unknown>;
}

/** Flags of an exchange declaration. */
export interface ExchangeDeclaration {
  type: 'topic' | 'fanout' | 'direct';
  options: { durable: boolean; autoDelete: boolean };
}

/** The control exchange (`nova`, `openstack`, ...): a topic exchange. */
export function controlExchange(options: TransportOptions): ExchangeDeclaration {
  return { type: 'topic', options: { durable: isDurable(options), autoDelete: options.amqp_auto_delete } };
}

/** `<topic>_fanout`: auto-delete; durable only with transient quorum queues (oslo 14.7+). */
export function fanoutExchange(options: TransportOptions): ExchangeDeclaration {
  return { type: 'fanout', options: { durable: options.rabbit_transient_quorum_queue, autoDelete: true } };
}

/**
 * The direct exchange named like a reply queue, bound to it: Python servers before
 * oslo.messaging 9.2 reply through it (docs/wire-format.md §4.5).
 */
export function legacyReplyExchange(): ExchangeDeclaration {
  return { type: 'direct', options: { durable: false, autoDelete: true } };
}

/** `<topic>` and `<topic>.<server>` work queues, and notification queues. */
export function workQueue(options: TransportOptions): QueueFlags {
  const args: Record<string, unknown> = {};
  if (options.rabbit_ha_queues) args['x-ha-policy'] = 'all';
  if (options.rabbit_quorum_queue) addQuorumArguments(args, options);
  return { durable: isDurable(options), autoDelete: options.amqp_auto_delete, exclusive: false, arguments: args };
}

/**
 * Per-process queues (`<topic>_fanout_<id>`, `reply_<id>`) with x-expires; quorum
 * queues (durable) with `rabbit_transient_quorum_queue`.
 */
export function transientQueue(options: TransportOptions): QueueFlags {
  const args: Record<string, unknown> = {};
  if (options.rabbit_ha_queues) args['x-ha-policy'] = 'all';
  if (options.rabbit_transient_quorum_queue) addQuorumArguments(args, options);
  args['x-expires'] = options.rabbit_transient_queues_ttl * 1000;
  return { durable: options.rabbit_transient_quorum_queue, autoDelete: false, exclusive: false, arguments: args };
}

/** `<topic>_fanout` as one durable stream shared by all servers (`rabbit_stream_fanout`). */
export function fanoutStream(options: TransportOptions): QueueFlags {
  const args = { 'x-queue-type': 'stream', 'x-max-age': `${options.rabbit_transient_queues_ttl}s` };
  return { durable: true, autoDelete: false, exclusive: false, arguments: args };
}

/** The dead-letter queue: novarpc's own, durable so poison messages survive a restart. */
export function deadLetterQueue(): QueueFlags {
  return { durable: true, autoDelete: false, exclusive: false, arguments: {} };
}

/** oslo makes the control exchange and work queues durable for either option. */
function isDurable(options: TransportOptions): boolean {
  return options.amqp_durable_queues || options.rabbit_quorum_queue;
}

/** x-queue-type quorum and the optional quorum limits (only when non-zero, as oslo). */
function addQuorumArguments(args: Record<string, unknown>, options: TransportOptions): void {
  args['x-queue-type'] = 'quorum';
  if (options.rabbit_quorum_delivery_limit) args['x-delivery-limit'] = options.rabbit_quorum_delivery_limit;
  if (options.rabbit_quorum_max_memory_length) args['x-max-in-memory-length'] = options.rabbit_quorum_max_memory_length;
  if (options.rabbit_quorum_max_memory_bytes) args['x-max-in-memory-bytes'] = options.rabbit_quorum_max_memory_bytes;
  // novarpc's own (oslo has no such option). RabbitMQ compares it on redeclaration:
  // every peer declaring the queue must set the same value.
  if (options.rabbit_quorum_initial_group_size) args['x-quorum-initial-group-size'] = options.rabbit_quorum_initial_group_size;
}

/** Consumer arguments (`x-cancel-on-ha-failover` when enabled). */
export function consumerArguments(options: TransportOptions): Record<string, unknown> | undefined {
  return options.enable_cancel_on_failover ? { 'x-cancel-on-ha-failover': true } : undefined;
}
