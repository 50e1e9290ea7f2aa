/**
 * Broker restart under load, on a RabbitMQ node of the test's own: while a client
 * casts 5,000 numbered messages and calls in a loop, the broker application is
 * stopped for 3 s and started again. Nothing confirmed may be lost; the process is
 * never restarted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTransport, RequestContext, RpcClient, RpcError, RpcServer, type Transport } from '../../src/rpc/index.js';
import { ChaosBroker } from '../support/chaos-broker.js';
import { waitFor } from '../support/harness.js';
import { ChaosSummary } from './summary.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const context = new RequestContext({ userId: 'chaos', projectId: 'chaos' });

describe('broker restart under load (default durable quorum topology)', () => {
  let broker: ChaosBroker;
  const summary = new ChaosSummary();
  const transports: Transport[] = [];

  beforeAll(async () => {
    broker = await ChaosBroker.start({ port: 5673 });
  }, 90_000);

  afterAll(async () => {
    summary.print();
    await Promise.all(transports.map((transport) => transport.close().catch(() => {})));
    await broker?.destroy();
  }, 60_000);

  it('processes every confirmed cast, fails in-flight calls clearly, and recovers by itself', async () => {
    const url =
      `${broker.url}?control_exchange=chaos&kombu_reconnect_delay=0.2&rabbit_retry_interval=0.2` +
      '&rabbit_retry_backoff=0.3&rabbit_interval_max=1&send_timeout=30';
    const serverTransport = getTransport(url);
    const clientTransport = getTransport(url);
    transports.push(serverTransport, clientTransport);
    const invocations = new Map<number, number>();
    const server = new RpcServer(serverTransport, { topic: 'chaos', server: 'w1' }, [
      {
        methods: {
          record: (_ctx, args) => {
            const n = args.n as number;
            invocations.set(n, (invocations.get(n) ?? 0) + 1);
          },
          ping: () => 'pong',
        },
      },
    ]);
    await server.start();
    const client = new RpcClient(clientTransport, { topic: 'chaos' }, { timeout: 5 });

    const total = 5000;
    const confirmed = new Set<number>();
    const castFailures: Array<{ n: number; error: unknown }> = [];
    let next = 0;
    const casting = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          const n = next++;
          try {
            await client.cast(context, 'record', { n });
            confirmed.add(n);
          } catch (error) {
            castFailures.push({ n, error });
          }
          await sleep(2);
        }
      }),
    );
    const callOutcomes: Array<{ at: number; ok: boolean; error?: unknown }> = [];
    let calling = true;
    const callLoop = (async () => {
      while (calling) {
        try {
          await client.call(context, 'ping');
          callOutcomes.push({ at: Date.now(), ok: true });
        } catch (error) {
          callOutcomes.push({ at: Date.now(), ok: false, error });
          await sleep(50);
        }
      }
    })();

    await waitFor(() => confirmed.size >= 1000, 60_000, '1000 confirmed casts before the restart');
    await broker.stopApp();
    const downAt = Date.now();
    await sleep(3000);
    const upAt = await broker.startApp();
    await casting;
    await waitFor(() => [...confirmed].every((n) => invocations.has(n)), 60_000, 'every confirmed cast processed');
    await waitFor(() => callOutcomes.some((outcome) => outcome.ok && outcome.at > upAt), 30_000, 'a call succeeding after the restart');
    calling = false;
    await callLoop;
    await server.stop();

    const firstCallAfter = callOutcomes.find((outcome) => outcome.ok && outcome.at > upAt)!.at;
    const lost = [...confirmed].filter((n) => !invocations.has(n)).length;
    const duplicated = [...invocations.values()].filter((count) => count > 1).length;
    const failedCalls = callOutcomes.filter((outcome) => !outcome.ok);
    summary.add({
      scenario: 'broker restart under load (casts)',
      sent: total,
      processed: invocations.size,
      lost,
      duplicated,
      recoverySeconds: (firstCallAfter - upAt) / 1000,
      notes: `confirmed ${confirmed.size}, cast errors ${castFailures.length}, broker down ${((upAt - downAt) / 1000).toFixed(1)} s`,
    });
    summary.add({
      scenario: 'broker restart under load (calls)',
      sent: callOutcomes.length,
      processed: callOutcomes.length - failedCalls.length,
      lost: 0,
      duplicated: 0,
      recoverySeconds: (firstCallAfter - upAt) / 1000,
      notes: `failed during the outage: ${failedCalls.length} (${[...new Set(failedCalls.map((o) => (o.error as RpcError).code))].join(', ')})`,
    });

    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    // A cast either succeeded (confirmed) or failed with a clear error: none vanished.
    expect(confirmed.size + castFailures.length).toBe(total);
    for (const { error } of castFailures) expect(error).toBeInstanceOf(RpcError);
    // Calls caught by the outage either wait for the broker and succeed, or fail with a
    // transport error or a timeout: never anything else, never a hang.
    for (const { error } of failedCalls) expect(['TRANSPORT_ERROR', 'MESSAGING_TIMEOUT']).toContain((error as RpcError).code);
    expect(firstCallAfter - upAt).toBeLessThan(15_000);
  }, 180_000);
});
