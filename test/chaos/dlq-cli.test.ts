/**
 * `novarpc dlq list|replay|purge` against the real broker: a worker dead-letters four
 * malformed messages into a dead-letter queue of this test's own; the command lists
 * them (text and JSON, with --limit), replays one by id to the queue it came from (the
 * same bytes), refuses an unknown id, and purges the rest.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import * as amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { toAmqpUrl } from '../support/harness.js';
import { brokerUrl } from '../support/services.js';
import { ChaosSummary } from './summary.js';

const ROOT = resolve(import.meta.dirname, '../..');
const execFileAsync = promisify(execFile);

/** Runs `novarpc <args>`; returns exit code and output. */
async function novarpc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
  }
}

describe('novarpc dlq', () => {
  const summary = new ChaosSummary();
  const id = randomBytes(4).toString('hex');
  const exchange = `dlq_${id}`;
  const topic = `dlq_${id}`;
  const deadLetterQueue = `novarpc.dead_letter.dlq_${id}`;
  let url = '';
  let worker: ReturnType<typeof spawn> | undefined;

  afterAll(async () => {
    summary.print();
    worker?.kill('SIGKILL');
    const admin = await amqp.connect(toAmqpUrl(await brokerUrl()));
    const channel = await admin.createChannel();
    channel.on('error', () => undefined);
    for (const queue of [topic, `${topic}.w1`, deadLetterQueue]) await channel.deleteQueue(queue).catch(() => undefined);
    await channel.deleteExchange(exchange).catch(() => undefined);
    await admin.close();
  });

  it('lists, replays one by id and purges the rest', async () => {
    const base = await brokerUrl();
    url = `${base}${base.includes('?') ? '&' : '?'}control_exchange=${exchange}&dead_letter_queue=${deadLetterQueue}&rabbit_transient_queues_ttl=60`;
    const started = spawn(process.execPath, ['--import', 'tsx', 'test/support/rpc-worker.ts', url, topic, 'w1'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    worker = started;
    const exited = new Promise((resolveExit) => started.once('exit', resolveExit));
    const lines = createInterface({ input: started.stdout! })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('ready');

    const bodies = [
      Buffer.from(`not json ${id}`),
      Buffer.from(JSON.stringify({ 'oslo.version': '9.9', 'oslo.message': `{"method":"echo","args":{"id":"${id}"}}` })),
      Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify({ args: { id } }) })),
      Buffer.concat([Buffer.from('{"method":"echo","args":{"value":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]),
    ];
    const admin = await amqp.connect(toAmqpUrl(base));
    try {
      const channel = await admin.createConfirmChannel();
      for (const body of bodies) channel.publish(exchange, topic, body, { contentType: 'application/json', deliveryMode: 2 });
      await channel.waitForConfirms();

      const list = async (...extra: string[]) => {
        const answer = await novarpc(['dlq', 'list', '--transport-url', url, '--json', ...extra]);
        expect(answer.code, answer.stderr).toBe(0);
        return JSON.parse(answer.stdout) as { queue: string; total: number; messages: Array<{ id: string; reason: string; queue: string; body: string; bodyEncoding: string }> };
      };
      const deadline = Date.now() + 60_000;
      while ((await list()).total < bodies.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
      started.kill('SIGTERM');
      expect(await exited).toBe(0);

      const all = await list();
      expect(all.queue).toBe(deadLetterQueue);
      expect(all.total).toBe(4);
      expect(all.messages.every((m) => m.reason.length > 0 && m.queue === topic)).toBe(true);
      expect((await list('--limit', '2')).messages).toHaveLength(2);
      const text = await novarpc(['dlq', 'list', '--transport-url', url]);
      expect(text.code).toBe(0);
      for (const message of all.messages) expect(text.stdout).toContain(message.id);
      expect(text.stdout).toContain(`${deadLetterQueue}: 4 message(s)`);

      const target = all.messages.find((m) => m.body === `not json ${id}`)!;
      expect(target).toBeDefined();
      const replay = await novarpc(['dlq', 'replay', '--transport-url', url, '--id', target.id, '--json']);
      expect(replay.code, replay.stderr).toBe(0);
      expect(JSON.parse(replay.stdout)).toMatchObject({ replayed: 1, not_found: 0 });
      const back = await channel.get(topic, { noAck: true });
      expect(back && back.content.toString()).toBe(`not json ${id}`);
      const afterReplay = await list();
      expect(afterReplay.total).toBe(3);
      expect(afterReplay.messages.map((m) => m.id)).not.toContain(target.id);

      const unknown = await novarpc(['dlq', 'replay', '--transport-url', url, '--id', 'no-such-id', '--json']);
      expect(unknown.code).toBe(1);
      expect(JSON.parse(unknown.stdout)).toMatchObject({ replayed: 0, not_found: 1 });
      const noTarget = await novarpc(['dlq', 'replay', '--transport-url', url]);
      expect(noTarget.code).toBe(1);
      expect(noTarget.stderr).toMatch(/--id <id\.\.\.> or --all/);

      const purge = await novarpc(['dlq', 'purge', '--transport-url', url, '--json']);
      expect(purge.code, purge.stderr).toBe(0);
      expect(JSON.parse(purge.stdout)).toMatchObject({ purged: 3 });
      expect((await list()).total).toBe(0);
      summary.add({ scenario: 'dlq list/replay/purge (CLI)', sent: 4, processed: 4, lost: 0, duplicated: 0, notes: `4 dead-lettered, listed; 1 replayed to ${topic} byte for byte; 3 purged` });
    } finally {
      await admin.close();
    }
  }, 300_000); // a dozen CLI runs, each a fresh node + tsx: slow on a loaded machine
});
