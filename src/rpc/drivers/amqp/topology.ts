/**
 * Declaration flags and arguments for every entity, exactly as oslo.messaging's rabbit
 * driver declares them for the same options (docs/wire-format.md §1.2, §1.3, and the
 * 14.7+ layouts in docs/queue-layouts.md). RabbitMQ refuses a redeclaration with
 * different flags (406), so these must match byte for byte.
 */
import type { Options } from 'amqplib';
import type { TransportOptions } from '../../transport-options.js';

/** Flags of an exchange declaration. */
export interface ExchangeDeclaration {
  type: 'topic' | 'fanout';
  options: Options.AssertExchange;
}

/** The control exchange (`nova`, `openstack`, ...): a topic exchange. */
export function controlExchange(options: TransportOptions): ExchangeDeclaration {
  return { type: 'topic', options: { durable: isDurable(options), autoDelete: options.amqp_auto_delete } };
}

/** `<topic>_fanout`: auto-delete; durable only with transient quorum queues (oslo 14.7+). */
export function fanoutExchange(options: TransportOptions): ExchangeDeclaration {
  return { type: 'fanout', options: { durable: options.rabbit_transient_quorum_queue, autoDelete: true } };
}

/** `<topic>` and `<topic>.<server>` work queues, and notification queues. */
export function workQueue(options: TransportOptions): Options.AssertQueue {
  const args: Record<string, unknown> = {};
  if (options.rabbit_ha_queues) args['x-ha-policy'] = 'all';
  if (options.rabbit_quorum_queue) addQuorumArguments(args, options);
  return { durable: isDurable(options), autoDelete: options.amqp_auto_delete, exclusive: false, arguments: args };
}

/**
 * Per-process queues (`<topic>_fanout_<id>`, `reply_<id>`) with x-expires; quorum
 * queues (durable) with `rabbit_transient_quorum_queue`.
 */
export function transientQueue(options: TransportOptions): Options.AssertQueue {
  const args: Record<string, unknown> = {};
  if (options.rabbit_ha_queues) args['x-ha-policy'] = 'all';
  if (options.rabbit_transient_quorum_queue) addQuorumArguments(args, options);
  args['x-expires'] = options.rabbit_transient_queues_ttl * 1000;
  return { durable: options.rabbit_transient_quorum_queue, autoDelete: false, exclusive: false, arguments: args };
}

/** `<topic>_fanout` as one durable stream shared by all servers (`rabbit_stream_fanout`). */
export function fanoutStream(options: TransportOptions): Options.AssertQueue {
  const args = { 'x-queue-type': 'stream', 'x-max-age': `${options.rabbit_transient_queues_ttl}s` };
  return { durable: true, autoDelete: false, exclusive: false, arguments: args };
}

/** The dead-letter queue: novarpc's own, durable so poison messages survive a restart. */
export function deadLetterQueue(): Options.AssertQueue {
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
