/**
 * write-coalescing.ts relies on amqplib internals (a ChannelModel's `.connection.stream`
 * is the socket every frame is written to). These tests check that shape against the
 * installed amqplib on a real connection, so an amqplib upgrade that changes it fails
 * here, saying what changed, instead of silently writing frames one by one.
 */
import { Socket } from 'node:net';
import * as amqp from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites, socketOf } from '../../src/rpc/drivers/amqp/write-coalescing.js';
import { toAmqpUrl } from '../support/harness.js';
import { brokerUrl } from '../support/services.js';

const CHANGED =
  'amqplib internals changed: ChannelModel.connection.stream is no longer the socket frames are written to; ' +
  'update src/rpc/drivers/amqp/write-coalescing.ts (or drop it) for the installed amqplib';

describe('write coalescing against the installed amqplib', () => {
  let model: amqp.ChannelModel | undefined;

  afterEach(async () => {
    await model?.close();
    model = undefined;
  });

  it("reaches amqplib's socket: ChannelModel.connection.stream is a net.Socket", async () => {
    model = await amqp.connect(toAmqpUrl(await brokerUrl()));
    const stream = (model as unknown as { connection?: { stream?: unknown } }).connection?.stream;
    expect(stream instanceof Socket, CHANGED).toBe(true);
    expect(socketOf(model), CHANGED).toBe(stream);
  });

  it('amqplib writes its frames through that socket, and frames of one tick leave in one corked batch', async () => {
    model = await amqp.connect(toAmqpUrl(await brokerUrl()));
    const socket = socketOf(model);
    expect(socket, CHANGED).toBeDefined();
    const writes: number[] = [];
    const original = socket!.write.bind(socket);
    socket!.write = ((...args: Parameters<Socket['write']>) => {
      writes.push(socket!.writableCorked);
      return original(...args);
    }) as Socket['write'];
    expect(coalesceWrites(model)).toBe(true);

    const channel = await model.createConfirmChannel();
    expect(writes.length, `${CHANGED} (no frame went through socket.write when a channel opened)`).toBeGreaterThan(0);
    writes.length = 0;
    const queue = await channel.assertQueue('', { exclusive: true });
    for (let i = 0; i < 5; i++) channel.sendToQueue(queue.queue, Buffer.from(`m${i}`));
    await new Promise((resolve) => setImmediate(resolve));
    // The first write of the tick goes out at once, the ones after it are corked.
    expect(writes[0]).toBe(0);
    expect(writes.slice(1).every((corked) => corked > 0)).toBe(true);
    expect(socket!.writableCorked).toBe(0); // uncorked at the end of the tick
    await channel.waitForConfirms(); // every message reached the broker intact
    const received = await channel.checkQueue(queue.queue);
    expect(received.messageCount).toBe(5);
  });

  it('turns itself off, changing nothing, when the shape is not there', () => {
    const fake = { connection: { stream: { write: () => true } } } as unknown as amqp.ChannelModel;
    expect(socketOf(fake)).toBeUndefined();
    expect(coalesceWrites(fake)).toBe(false);
  });
});
