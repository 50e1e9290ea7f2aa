/**
 * Database outage: the multi-process cloud on a MariaDB of the test's own, stopped for
 * 10 s while builds are in flight. While it is down the API answers 503 in the Compute
 * API's fault shape (no 500, no stack trace); no worker dies; the builds caught by the
 * outage end ACTIVE or ERROR (none stuck); after the database returns, new boots go
 * ACTIVE again, and the time until the first does is the recovery time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUrl } from '../support/services.js';
import { startPrivateMariaDb, type PrivateMariaDb } from '../support/private-mariadb.js';
import { startProcessCloud, waitSettled, type ProcessCloud } from '../support/process-cloud.js';
import { ChaosSummary } from './summary.js';

const OUTAGE_MS = 10_000;
const STACK = /\bat [\w.<>]+ \(|\.(?:ts|js):\d+:\d+|node_modules|ECONNREFUSED|Traceback/;

describe('database outage', () => {
  const summary = new ChaosSummary();
  let mariadb: PrivateMariaDb | undefined;
  let cloud: ProcessCloud | undefined;

  beforeAll(async () => {
    mariadb = await startPrivateMariaDb();
    cloud = await startProcessCloud({
      transportUrl: await brokerUrl(),
      databaseServerUrl: mariadb.url,
      settings: {
        DEFAULT: { service_down_time: 5, periodic_interval: 1, instance_build_timeout: 40, rpc_response_timeout: 10 },
        fake_driver: { spawn_time: 1500 },
      },
    });
  }, 90_000);

  afterAll(async () => {
    summary.print();
    await mariadb?.start().catch(() => undefined);
    const codes = await cloud?.stop();
    await mariadb?.destroy();
    if (codes) expect(Object.entries(codes).filter(([, code]) => code !== 0)).toEqual([]);
  }, 90_000);

  it('503 while down, workers survive, in-flight builds settle, boots resume when it returns', async () => {
    const c = cloud!;
    const before = await Promise.all(Array.from({ length: 3 }, (_, i) => c.boot(`pre-${i}`)));
    expect([...(await waitSettled(c, before, 20_000)).values()].map((s) => s?.status)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);

    const inFlight = await Promise.all(Array.from({ length: 6 }, (_, i) => c.boot(`inflight-${i}`)));
    await new Promise((resolve) => setTimeout(resolve, 400));
    await mariadb!.stop();
    const downAt = Date.now();

    const answers: Array<{ what: string; status: number; text: string }> = [];
    while (Date.now() - downAt < OUTAGE_MS) {
      for (const [what, method, path, body] of [
        ['boot', 'POST', '/servers', { server: { name: 'during', imageRef: '928e2889-6359-40ef-b44c-0aa0b7394be1', flavorRef: '1' } }],
        ['list', 'GET', '/servers/detail', undefined],
        ['show', 'GET', `/servers/${before[0]}`, undefined],
      ] as const) {
        const answer = await c.request(method, path, body);
        answers.push({ what, status: answer.status, text: answer.text });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const alive = [...c.workers.values()].filter((worker) => worker.process.exitCode === null && worker.process.signalCode === null).map((w) => w.name);
    await mariadb!.start();
    const upAt = Date.now();

    // Recovery: the first boot after the restart that reaches ACTIVE.
    let recovered: string | undefined;
    while (!recovered && Date.now() - upAt < 60_000) {
      const answer = await c.request('POST', '/servers', { server: { name: 'after', imageRef: '928e2889-6359-40ef-b44c-0aa0b7394be1', flavorRef: '1' } });
      if (answer.status === 202) {
        const server = (await waitSettled(c, [answer.body.server.id], 30_000)).get(answer.body.server.id);
        if (server?.status === 'ACTIVE') recovered = answer.body.server.id;
      } else {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const recoverySeconds = (Date.now() - upAt) / 1000;
    const settled = await waitSettled(c, inFlight, 60_000);
    const states = inFlight.map((id) => settled.get(id)?.status ?? 'MISSING');
    const bad = answers.filter((a) => a.status !== 503 || STACK.test(a.text) || !/"serviceUnavailable":\{"code":503,"message":"[^"]+"/.test(a.text));
    const count = (status: string) => states.filter((s) => s === status).length;
    const faults = [...new Set(inFlight.map((id) => String(settled.get(id)?.fault?.message ?? '').slice(0, 90)).filter(Boolean))];
    summary.add({
      scenario: `database down ${OUTAGE_MS / 1000} s`,
      sent: inFlight.length,
      processed: count('ACTIVE') + count('ERROR'),
      lost: inFlight.length - count('ACTIVE') - count('ERROR'),
      duplicated: 0,
      recoverySeconds,
      notes: `in flight: ACTIVE ${count('ACTIVE')} ERROR ${count('ERROR')} other ${states.filter((s) => s !== 'ACTIVE' && s !== 'ERROR').join(',')}; ${answers.length} API requests while down, ${answers.length - bad.length} were 503 faults; workers alive ${alive.length}/${c.workers.size}; faults: ${faults.join(' | ')}`,
    });
    expect(bad.slice(0, 3)).toEqual([]);
    expect(answers.length).toBeGreaterThan(10);
    expect(alive).toHaveLength(c.workers.size);
    expect(recovered).toBeDefined();
    expect(states.filter((s) => s !== 'ACTIVE' && s !== 'ERROR')).toEqual([]);
  }, 150_000);
});
