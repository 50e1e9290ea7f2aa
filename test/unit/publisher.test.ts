/**
 * The publisher's own logic without a broker: the publish properties it builds, and
 * how a channel failure is classified (by type and channel state, not message text).
 * The channel is an EventEmitter that fails unconfirmed publishes from a `close`
 * listener registered first, as amqplib's ConfirmChannel does in its constructor.
 * test/rpc/publisher.test.ts and publisher-nack.test.ts cover the same paths on
 * the real broker (a lost channel, a nack, a missing exchange, a full buffer).
 */
import { EventEmitter } from 'node:events';
import { IllegalOperationError } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { BASE_PROPERTIES, PublishOptionsCache, describeDestination, sendTimeoutSeconds } from '../../src/rpc/drivers/amqp/publish-request.js';
import {
  ChannelLostBeforeConfirm,
  PublishNacked,
  closedOverMissingExchange,
  confirmFailure,
  declaredOn,
  isChannelLoss,
  isDeclarationRefused,
  openPooledChannel,
  takeReturn,
} from '../../src/rpc/drivers/amqp/publisher-channel.js';
import { declarationMismatch, isPreconditionFailure } from '../../src/rpc/drivers/amqp/declaration-errors.js';
import { TransportError } from '../../src/rpc/errors.js';
import { resolveOptions } from '../../src/rpc/transport-options.js';

/** A confirm channel whose close fails the unconfirmed publishes first, as amqplib's does. */
class FakeConfirmChannel extends EventEmitter {
  readonly unconfirmed: Array<(error: Error | null) => void> = [];
  constructor() {
    super();
    this.on('close', () => {
      for (const callback of this.unconfirmed.splice(0)) callback(new Error('channel closed'));
    });
  }
}

async function pooledOn(channel: FakeConfirmChannel) {
  const model = { createConfirmChannel: async () => channel } as never;
  return openPooledChannel(model, silentLogger());
}

describe('publish properties', () => {
  const cache = new PublishOptionsCache();

  it('a plain publish carries kombu\'s properties; mandatory and TTL variants are built once and shared', () => {
    const plain = cache.for({ exchange: 'x', routingKey: 'k', body: Buffer.alloc(0) });
    expect(plain).toMatchObject({ ...BASE_PROPERTIES, mandatory: false });
    expect(cache.for({ exchange: 'x', routingKey: 'k', body: Buffer.alloc(0) })).toBe(plain);
    expect(cache.for({ exchange: '', routingKey: 'q', body: Buffer.alloc(0), mandatory: true }).mandatory).toBe(true);
    const ttl = cache.for({ exchange: 'x', routingKey: 'k', body: Buffer.alloc(0), expirationMs: 1500.4 });
    expect(ttl.expiration).toBe('1500');
    expect(cache.for({ exchange: 'x', routingKey: 'k', body: Buffer.alloc(0), expirationMs: 1500.4 })).toBe(ttl);
    expect(cache.for({ exchange: 'x', routingKey: 'k', body: Buffer.alloc(0), expirationMs: 0.2 }).expiration).toBe('1');
  });

  it('extra properties go over the base ones, with the TTL and mandatory flag', () => {
    const options = cache.for({ exchange: 'x', routingKey: 'k', body: Buffer.alloc(0), properties: { headers: { a: 1 } }, expirationMs: 10, mandatory: true });
    expect(options).toMatchObject({ contentType: 'application/json', headers: { a: 1 }, expiration: '10', mandatory: true });
  });

  it('names the destination and the bound of a publish in its errors', () => {
    expect(describeDestination({ exchange: 'nova', routingKey: 'compute' })).toBe('exchange "nova" key "compute"');
    expect(describeDestination({ exchange: '', routingKey: 'reply_1' })).toBe('queue "reply_1"');
    const options = resolveOptions({ send_timeout: 7 }, {});
    expect(sendTimeoutSeconds({ exchange: '', routingKey: 'q', body: Buffer.alloc(0) }, options)).toBe(7);
    expect(sendTimeoutSeconds({ exchange: '', routingKey: 'q', body: Buffer.alloc(0), sendTimeoutMs: 2500 }, options)).toBe(2.5);
  });
});

describe('channel failures, by type and state', () => {
  it('a confirm failing while the channel is open is a nack; one failed by the close is a lost channel', async () => {
    const channel = new FakeConfirmChannel();
    const pooled = await pooledOn(channel);
    expect(confirmFailure(pooled)).toBeInstanceOf(PublishNacked);
    const seen: Error[] = [];
    channel.unconfirmed.push(() => seen.push(confirmFailure(pooled)));
    channel.emit('close');
    expect(seen[0]).toBeInstanceOf(ChannelLostBeforeConfirm);
    expect(isChannelLoss(pooled, seen[0])).toBe(true);
  });

  it('the broker closing the channel records why; an error on an open channel is not a loss', async () => {
    const channel = new FakeConfirmChannel();
    const pooled = await pooledOn(channel);
    expect(isChannelLoss(pooled, new Error('something else'))).toBe(false);
    expect(isChannelLoss(pooled, new IllegalOperationError('Channel closed'))).toBe(true);
    const closeError = Object.assign(new Error("Channel closed by server: 404 (NOT-FOUND) with message \"NOT_FOUND - no exchange 'gone' in vhost '/'\""), { code: 404 });
    channel.emit('error', closeError);
    channel.emit('close');
    expect(pooled.open).toBe(false);
    expect(pooled.closedBy).toBe(closeError);
    expect(isChannelLoss(pooled, new Error('Channel ended, no reply will be forthcoming'))).toBe(true);
    expect(closedOverMissingExchange(pooled, { exchange: 'gone', routingKey: 'k', body: Buffer.alloc(0) })).toBe(true);
    expect(closedOverMissingExchange(pooled, { exchange: 'other', routingKey: 'k', body: Buffer.alloc(0) })).toBe(false);
    const declaring = { key: 'x:gone', declare: async () => undefined };
    expect(closedOverMissingExchange(pooled, { exchange: 'gone', routingKey: 'k', body: Buffer.alloc(0), declarations: [declaring] })).toBe(false);
  });

  it('a close caused by a declaration (exchange or queue method) is a refusal, not a loss', () => {
    const refused = Object.assign(new Error('Operation failed: QueueDeclare; 403 (ACCESS-REFUSED)'), { code: 403, classId: 50, methodId: 10 });
    expect(isDeclarationRefused(refused)).toBe(true);
    const byPublish = Object.assign(new Error('Channel closed by server: 404 (NOT-FOUND)'), { code: 404, classId: 60, methodId: 40 });
    expect(isDeclarationRefused(byPublish)).toBe(false);
    expect(isDeclarationRefused(new Error('Channel ended, no reply will be forthcoming'))).toBe(false);
  });

  it('counts basic.returns per routing key, one per confirm', async () => {
    const channel = new FakeConfirmChannel();
    const pooled = await pooledOn(channel);
    channel.emit('return', { fields: { routingKey: 'reply_a' } });
    channel.emit('return', { fields: { routingKey: 'reply_a' } });
    expect(takeReturn(pooled, 'reply_b')).toBe(false);
    expect(takeReturn(pooled, 'reply_a')).toBe(true);
    expect(takeReturn(pooled, 'reply_a')).toBe(true);
    expect(takeReturn(pooled, 'reply_a')).toBe(false);
  });

  it('knows which declarations a channel has done', async () => {
    const pooled = await pooledOn(new FakeConfirmChannel());
    const request = { exchange: 'x', routingKey: 'k', body: Buffer.alloc(0), declarations: [{ key: 'a', declare: async () => undefined }] };
    expect(declaredOn(pooled, { exchange: 'x', routingKey: 'k', body: Buffer.alloc(0) })).toBe(true);
    expect(declaredOn(pooled, request)).toBe(false);
    pooled.declared.add('a');
    expect(declaredOn(pooled, request)).toBe(true);
  });

  it('a 406 is a precondition failure by its reply code, and the error says what to set', () => {
    const refused = Object.assign(new Error('PRECONDITION_FAILED - inequivalent arg'), { code: 406 });
    expect(isPreconditionFailure(refused)).toBe(true);
    expect(isPreconditionFailure(new Error('PRECONDITION_FAILED in text only'))).toBe(false);
    const error = declarationMismatch({ exchange: '', routingKey: 'compute' }, refused);
    expect(error).toBeInstanceOf(TransportError);
    expect(error.message).toMatch(/queue "compute".*rabbit_quorum_queue/);
  });
});
