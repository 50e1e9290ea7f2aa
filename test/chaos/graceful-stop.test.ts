/**
 * Graceful stop: SIGTERM a worker with 50 handlers in flight. All 50 complete and are
 * acknowledged, no new work is taken, and the process exits 0.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { getTransport, RequestContext, RpcClient } from '../../src/rpc/index.js';
import { toAmqpUrl, waitFor } from '../support/harness.js';
import { brokerUrl } from '../support/services.js';
import { ChaosSummary } from './summary.js';

describe('graceful stop', () => {
  const summary = new ChaosSummary();
  afterAll(() => summary.print());

  it('SIGTERM with 50 handlers in flight: all complete and are acked, nothing new is taken, exit 0', async () => {
    const suffix = randomBytes(4).toString('hex');
    const topic = `graceful_${suffix}`;
    const exchange = `graceful_${suffix}`;
    const base = await brokerUrl();
    const url = `${base}${base.includes('?') ? '&' : '?'}control_exchange=${exchange}&rabbit_transient_queues_ttl=60`;
    const worker = spawn(process.execPath, ['--import', 'tsx', 'test/support/rpc-worker.ts', url, topic, 'w1'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let output = '';
    worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    const transport = getTransport(url);
    const admin = await amqp.connect(toAmqpUrl(base));
    const channel = await admin.createChannel();
    try {
      await waitFor(() => output.includes('ready'), 20_000, 'worker ready');
      const client = new RpcClient(transport, { topic });
      const context = new RequestContext({ userId: 'ops', projectId: 'ops' });
      await Promise.all(Array.from({ length: 50 }, (_, n) => client.cast(context, 'slow', { n, ms: 1500 })));
      const count = (word: string) => output.split('\n').filter((line) => line.startsWith(`${word} `)).length;
      await waitFor(() => count('started') === 50, 10_000, '50 handlers in flight');
      const signalledAt = Date.now();
      worker.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 200));
      await Promise.all(Array.from({ length: 5 }, (_, n) => client.cast(context, 'slow', { n: 100 + n, ms: 10 })));
      const code = await exited;
      const stoppedIn = (Date.now() - signalledAt) / 1000;
      const queue = await channel.checkQueue(topic);
      summary.add({
        scenario: 'SIGTERM with 50 in flight',
        sent: 55,
        processed: count('finished'),
        lost: 50 - count('finished'),
        duplicated: 0,
        notes: `exit ${code} after ${stoppedIn.toFixed(1)} s; 5 casts sent after SIGTERM left queued: ${queue.messageCount}`,
      });
      expect(code).toBe(0);
      expect(count('finished')).toBe(50);
      expect(output).not.toMatch(/started 10[0-4]/);
      expect(queue.messageCount).toBe(5);
      expect(queue.consumerCount).toBe(0);
    } finally {
      worker.kill('SIGKILL');
      for (const queue of [topic, `${topic}.w1`]) await channel.deleteQueue(queue).catch(() => {});
      await channel.deleteExchange(exchange).catch(() => {});
      await admin.close();
      await transport.close();
    }
  }, 60_000);
});
