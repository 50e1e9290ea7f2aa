/**
 * Flow control on a private RabbitMQ node: a memory alarm (the high watermark set
 * absurdly low) makes the broker block publishing connections (connection.blocked).
 * Publishes then wait, a log line says the broker is blocking and why, nothing is
 * reported failed before send_timeout, the publisher opens no extra channels, and
 * everything resumes when the alarm clears; a block that outlasts send_timeout fails
 * the sends with a clear error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTransport, RequestContext, RpcClient, RpcServer, TransportError, type Transport } from '../../src/rpc/index.js';
import { ChaosBroker } from '../support/chaos-broker.js';
import { waitFor } from '../support/harness.js';
import { freePort } from '../support/net.js';
import { LogCapture } from './cluster-load.js';
import { ChaosSummary } from './summary.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const context = new RequestContext({ userId: 'chaos', projectId: 'chaos' });
/** The patient client's send_timeout: longer than the block (rabbitmqctl is slow on a loaded machine). */
const PATIENT_TIMEOUT = 60;
/** The impatient client's send_timeout: shorter than the block. */
const SHORT_TIMEOUT = 5;

describe('flow control: a resource alarm blocks publishers', () => {
  let broker: ChaosBroker;
  const transports: Transport[] = [];
  const summary = new ChaosSummary();
  const processed = new Map<number, number>();
  const logs = new LogCapture();
  let patient: RpcClient;
  let impatient: RpcClient;

  beforeAll(async () => {
    broker = await ChaosBroker.start({ port: await freePort() });
    const url = `${broker.url}?control_exchange=flow&kombu_reconnect_delay=0.2`;
    const serverTransport = getTransport(url, { options: { send_timeout: PATIENT_TIMEOUT } });
    const patientTransport = getTransport(url, { logger: logs.logger, options: { send_timeout: PATIENT_TIMEOUT } });
    const impatientTransport = getTransport(url, { options: { send_timeout: SHORT_TIMEOUT } });
    transports.push(serverTransport, patientTransport, impatientTransport);
    const server = new RpcServer(serverTransport, { topic: 'flow', server: 'w1' }, [
      { methods: { record: (_ctx, args) => void processed.set(args.n as number, (processed.get(args.n as number) ?? 0) + 1) } },
    ]);
    await server.start();
    patient = new RpcClient(patientTransport, { topic: 'flow' });
    impatient = new RpcClient(impatientTransport, { topic: 'flow' });
    await patient.cast(context, 'record', { n: -1 });
    await impatient.cast(context, 'record', { n: -2 });
    await waitFor(() => processed.has(-1) && processed.has(-2), 10_000, 'the warm-up casts');
  }, 120_000);

  afterAll(async () => {
    summary.print();
    await Promise.all(transports.map((transport) => transport.close().catch(() => {})));
    await broker?.destroy();
  }, 60_000);

  const channelCount = async () => (await broker.ctl('-q', 'list_channels', 'name')).split('\n').filter(Boolean).length;
  const alarmOn = () => broker.ctl('set_vm_memory_high_watermark', '0.0000001');
  const alarmOff = () => broker.ctl('set_vm_memory_high_watermark', '0.4');

  /** Starts `count` casts numbered from `from`; each outcome is noted with its time. */
  function castMany(client: RpcClient, from: number, count: number) {
    const outcomes: Array<{ n: number; at: number; error?: unknown }> = [];
    const done = Promise.all(
      Array.from({ length: count }, (_, i) =>
        client.cast(context, 'record', { n: from + i }).then(
          () => void outcomes.push({ n: from + i, at: Date.now() }),
          (error: unknown) => void outcomes.push({ n: from + i, at: Date.now(), error }),
        ),
      ),
    );
    return { outcomes, done };
  }

  it('publishes wait while blocked, nothing fails before send_timeout, all resume on unblock', async () => {
    const channelsBefore = await channelCount();
    await alarmOn();
    const blockedAt = Date.now();
    const { outcomes, done } = castMany(patient, 0, 200);
    await waitFor(() => logs.matching('blocking publishers').length > 0, 20_000, 'the "broker is blocking" log line');
    // Casts sent after the notification wait unsent, without a channel of their own.
    const later = castMany(patient, 200, 50);
    await sleep(3000);
    const channelsWhileBlocked = await channelCount();
    const settledWhileBlocked = outcomes.length + later.outcomes.length;
    const unblockedAt = Date.now();
    await alarmOff();
    await Promise.all([done, later.done]);
    outcomes.push(...later.outcomes);
    await waitFor(() => outcomes.every((o) => processed.has(o.n)), 30_000, 'every cast processed after the unblock');
    const resumedAt = Math.max(...outcomes.map((o) => o.at));

    const line = logs.matching('blocking publishers')[0]!;
    summary.add({
      scenario: 'memory alarm, lifted before send_timeout',
      sent: outcomes.length,
      confirmed: outcomes.filter((o) => !o.error).length,
      processed: outcomes.filter((o) => processed.has(o.n)).length,
      lost: outcomes.filter((o) => !o.error && !processed.has(o.n)).length,
      duplicated: [...processed.values()].filter((count) => count > 1).length,
      recoverySeconds: (resumedAt - unblockedAt) / 1000,
      notes: `blocked ${((unblockedAt - blockedAt) / 1000).toFixed(1)} s, reason "${String(line.reason)}", channels ${channelsBefore} -> ${channelsWhileBlocked}`,
    });
    expect(settledWhileBlocked).toBe(0);
    expect(unblockedAt - blockedAt).toBeLessThan(PATIENT_TIMEOUT * 1000);
    expect(outcomes.filter((o) => o.error)).toEqual([]);
    expect(String(line.reason)).toMatch(/memory/);
    expect(line.msg).toMatch(/low on memory/);
    expect(channelsWhileBlocked).toBeLessThanOrEqual(channelsBefore + 1);
    expect(logs.matching('unblocked').length).toBeGreaterThan(0);
  }, 120_000);

  it('a block that outlasts send_timeout fails the sends with a clear error, not before', async () => {
    await alarmOn();
    const startedAt = Date.now();
    const { outcomes, done } = castMany(impatient, 1000, 20);
    await done;
    await alarmOff();
    const failures = outcomes.filter((o) => o.error);
    const earliest = Math.min(...failures.map((o) => o.at)) - startedAt;
    // After the alarm clears a new cast goes through.
    await impatient.cast(context, 'record', { n: 2000 });
    await waitFor(() => processed.has(2000), 30_000, 'a cast after the alarm cleared');
    summary.add({
      scenario: 'memory alarm outlasting send_timeout',
      sent: 20,
      confirmed: outcomes.length - failures.length,
      processed: outcomes.filter((o) => processed.has(o.n)).length,
      lost: outcomes.filter((o) => !o.error && !processed.has(o.n)).length,
      duplicated: 0,
      notes:
        `${failures.length} failed after ${(earliest / 1000).toFixed(1)} s (send_timeout ${SHORT_TIMEOUT} s); ` +
        `${failures.filter((o) => processed.has(o.n)).length} of them had left before the block and arrived after it ("may still be delivered")`,
    });
    expect(failures.length).toBe(20);
    for (const { error } of failures) {
      expect(error).toBeInstanceOf(TransportError);
      expect((error as Error).message).toMatch(/blocking publishers|not confirmed by the broker/);
    }
    expect(earliest).toBeGreaterThanOrEqual(SHORT_TIMEOUT * 1000 * 0.9);
  }, 120_000);
});
