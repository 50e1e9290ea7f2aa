/**
 * wire/topology.ts, the one module for names and declaration flags: the names oslo
 * uses, the server layout per option set, and the flags per option set. (The flags
 * are also checked against a real broker in test/rpc/queue-layouts.test.ts.)
 */
import { mkdirSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/rpc/transport-options.js';
import { QueueNamer } from '../../src/rpc/drivers/amqp/queue-names.js';
import {
  controlExchange,
  describeDestination,
  fanoutExchange,
  fanoutExchangeName,
  fanoutQueueName,
  fanoutStream,
  notificationQueueName,
  notificationRoutingKey,
  queueManagerUnique,
  replyQueueName,
  requestRoutingKey,
  rpcServerLayout,
  serverQueueName,
  transientQueue,
  workQueue,
} from '../../src/rpc/wire/topology.js';

describe('wire names', () => {
  it("spells oslo's names", () => {
    expect(fanoutExchangeName('compute')).toBe('compute_fanout');
    expect(serverQueueName('compute', 'host1')).toBe('compute.host1');
    expect(requestRoutingKey('compute', 'host1')).toBe('compute.host1');
    expect(requestRoutingKey('compute', undefined)).toBe('compute');
    expect(replyQueueName('ab12')).toBe('reply_ab12');
    expect(fanoutQueueName('compute', 'ab12')).toBe('compute_fanout_ab12');
    expect(queueManagerUnique('h', 'nova-compute', 3)).toBe('h:nova-compute:3');
    expect(notificationRoutingKey('notifications', 'info')).toBe('notifications.info');
    expect(notificationQueueName('notifications.info', undefined)).toBe('notifications.info');
    expect(notificationQueueName('notifications.info', 'pool-a')).toBe('pool-a');
    expect(describeDestination('compute', 'h', true)).toBe('compute_fanout');
    expect(describeDestination('compute', 'h', false)).toBe('compute.h');
  });

  it('the queue namer builds its names here, with or without the queue manager', () => {
    expect(new QueueNamer(resolveOptions({})).reply()).toMatch(/^reply_[0-9a-f]{32}$/);
    expect(new QueueNamer(resolveOptions({})).fanout('t')).toMatch(/^t_fanout_[0-9a-f]{32}$/);
    const dir = `/tmp/novarpc-topology-${process.pid}`;
    mkdirSync(dir, { recursive: true });
    try {
      const namer = new QueueNamer(resolveOptions({ use_queue_manager: true, hostname: 'hx', processname: 'px' }), dir);
      expect(namer.reply()).toBe('reply_hx:px:1');
      expect(namer.fanout('t')).toBe('t_fanout_hx:px:2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RPC server layout per option set', () => {
  const unique = () => 'u1';

  it('default: work queues, a fanout queue of its own, deleted on stop', () => {
    expect(rpcServerLayout(resolveOptions({}), 'nova', 'compute', 'h1', unique)).toEqual({
      exchange: 'nova',
      workQueues: ['compute', 'compute.h1'],
      fanoutExchange: 'compute_fanout',
      fanoutQueue: 'compute_fanout_u1',
      fanoutBindingKey: 'compute',
      fanoutIsStream: false,
      deleteFanoutQueueOnStop: true,
    });
  });

  it('rabbit_stream_fanout: the shared stream <topic>_fanout, kept', () => {
    const options = resolveOptions({ rabbit_stream_fanout: true, rabbit_qos_prefetch_count: 10, rabbit_transient_quorum_queue: true });
    expect(rpcServerLayout(options, 'nova', 'compute', 'h1', unique)).toMatchObject({ fanoutQueue: 'compute_fanout', fanoutIsStream: true, deleteFanoutQueueOnStop: false });
  });

  it('use_queue_manager: the fanout queue is kept for the next start', () => {
    expect(rpcServerLayout(resolveOptions({ use_queue_manager: true }), 'nova', 'compute', 'h1', unique)).toMatchObject({ fanoutQueue: 'compute_fanout_u1', deleteFanoutQueueOnStop: false });
  });
});

describe('declaration flags per option set', () => {
  it('defaults: durable quorum work queues, durable control exchange, transient per-process queues', () => {
    const options = resolveOptions({});
    expect(controlExchange(options)).toEqual({ type: 'topic', options: { durable: options.amqp_durable_queues || options.rabbit_quorum_queue, autoDelete: false } });
    expect(fanoutExchange(options)).toEqual({ type: 'fanout', options: { durable: false, autoDelete: true } });
    expect(transientQueue(options).arguments['x-expires']).toBe(options.rabbit_transient_queues_ttl * 1000);
  });

  it('classic, non-durable queues when quorum and durability are off', () => {
    const options = resolveOptions({ rabbit_quorum_queue: false, amqp_durable_queues: false });
    expect(workQueue(options)).toEqual({ durable: false, autoDelete: false, exclusive: false, arguments: {} });
    expect(controlExchange(options).options.durable).toBe(false);
  });

  it('quorum limits and HA policy appear only when set', () => {
    const options = resolveOptions({ rabbit_quorum_queue: true, rabbit_quorum_delivery_limit: 7, rabbit_quorum_max_memory_length: 100, max_delivery_attempts: 5 });
    expect(workQueue(options).arguments).toEqual({ 'x-queue-type': 'quorum', 'x-delivery-limit': 7, 'x-max-in-memory-length': 100 });
    expect(workQueue(resolveOptions({ rabbit_quorum_queue: false, rabbit_ha_queues: true })).arguments).toEqual({ 'x-ha-policy': 'all' });
  });

  it('transient quorum queues and the fanout stream', () => {
    const options = resolveOptions({ rabbit_transient_quorum_queue: true });
    expect(transientQueue(options)).toMatchObject({ durable: true, arguments: { 'x-queue-type': 'quorum' } });
    expect(fanoutExchange(options).options.durable).toBe(true);
    expect(fanoutStream(options).arguments).toEqual({ 'x-queue-type': 'stream', 'x-max-age': `${options.rabbit_transient_queues_ttl}s` });
  });
});
