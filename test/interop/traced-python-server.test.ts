/**
 * Tracing over RabbitMQ with a Python oslo.messaging server on the other end: the
 * trace context travels as AMQP headers (traceparent of the call's CLIENT span), the oslo
 * body has the same shape as an untraced one, and the Python server handles the traced
 * call exactly as an untraced one (same arguments, same context, same result).
 */
import * as amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { RequestContext, RpcClient } from '../../src/rpc/index.js';
import { toAmqpUrl, waitFor } from '../support/harness.js';
import { memoryTracing } from '../support/tracing.js';
import { InteropBus, PeerGroup, PythonPeer, requirePythonPeers } from './peers.js';

const STOCK = { rabbit_quorum_queue: 'false' };

describe('a traced novarpc call to a Python oslo.messaging server', () => {
  const peers = new PeerGroup();
  const tracing = memoryTracing();
  let bus: InteropBus;
  let topic: string;
  let server: PythonPeer;
  let spy: { connection: amqp.ChannelModel; messages: amqp.ConsumeMessage[] };
  const context = new RequestContext({ requestId: 'req-7a1c0e7e-0d43-4a36-9b51-7d2f1c2b9a11', userId: 'alice', projectId: 'project-a', roles: ['member'] });

  beforeAll(async () => {
    await requirePythonPeers();
    bus = await InteropBus.create();
    topic = bus.topic('traced', ['host1']);
    server = await PythonPeer.start(peers, 'py_rpc_server.py', [...bus.pythonArgs(), '--topic', topic, '--server', 'host1', '--version', '1.3']);
    // A copy of every request to the topic, read raw (headers and body as they travel).
    const connection = await amqp.connect(toAmqpUrl(bus.tsUrl()));
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, bus.exchange, topic);
    const messages: amqp.ConsumeMessage[] = [];
    await channel.consume(queue, (message) => message && messages.push(message), { noAck: true });
    spy = { connection, messages };
  });

  afterAll(async () => {
    await spy?.connection.close().catch(() => {});
    await peers.stopAll();
    await bus?.cleanup();
  });

  it('carries traceparent in the AMQP headers and leaves the oslo body and the Python side unchanged', async () => {
    const traced = new RpcClient(bus.transport(STOCK, { tracerProvider: tracing.provider }), { topic, version: '1.3' }, { timeout: 15 });
    const plain = new RpcClient(bus.transport(STOCK, { tracerProvider: false }), { topic, version: '1.3' }, { timeout: 15 });
    const value = { nested: [1, 'two', { three: null }] };
    expect(await traced.call(context, 'echo', { value })).toEqual(value);
    expect(await plain.call(context, 'echo', { value })).toEqual(value);
    await waitFor(() => spy.messages.length === 2 && server.handled('echo').length === 2, 10_000);

    const [tracedMessage, plainMessage] = spy.messages as [amqp.ConsumeMessage, amqp.ConsumeMessage];
    // A call is one CLIENT span; its context is what the request carries.
    const producer = tracing.spans().find((span) => span.kind === SpanKind.CLIENT)!;
    const { traceId, spanId } = producer.spanContext();
    expect(String(tracedMessage.properties.headers?.traceparent)).toBe(`00-${traceId}-${spanId}-01`);
    expect(plainMessage.properties.headers?.traceparent).toBeUndefined();
    expect(producer.attributes).toMatchObject({ 'messaging.system': 'rabbitmq', 'messaging.destination.name': `${bus.exchange}:${topic}`, 'rpc.method': 'echo' });

    const tracedBody = JSON.parse(tracedMessage.content.toString('utf8'));
    const plainBody = JSON.parse(plainMessage.content.toString('utf8'));
    expect(tracedMessage.content.toString('utf8')).not.toMatch(/traceparent|tracestate|[0-9a-f]{32}-[0-9a-f]{16}/);
    expect(Object.keys(tracedBody).sort()).toEqual(Object.keys(plainBody).sort());
    const message = (body: { 'oslo.message': string }) => JSON.parse(body['oslo.message']);
    const withoutIds = ({ _msg_id, _unique_id, _reply_q, ...rest }: Record<string, unknown>) => rest;
    expect(withoutIds(message(tracedBody))).toEqual(withoutIds(message(plainBody)));

    const [first, second] = server.handled('echo');
    expect(first!.args).toEqual(second!.args);
    expect(first!.ctxt).toEqual(second!.ctxt);
  });
});
