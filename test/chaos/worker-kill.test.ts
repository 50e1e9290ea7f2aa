/**
 * A compute worker SIGKILLed while it builds servers: 20 boots over two computes with a
 * 1.5 s fake spawn, compute cmp-a killed with several builds in flight. Its builds must
 * be taken over by cmp-b once cmp-a counts as down, every server must end ACTIVE or
 * ERROR (none stuck in building), none built twice; when cmp-a comes back, the stale
 * run_instance casts it finds in its queue are dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUrl, databaseUrl } from '../support/services.js';
import { startProcessCloud, statuses, waitSettled, type ProcessCloud } from '../support/process-cloud.js';
import { queueDepth } from '../services/processes.js';
import { ChaosSummary } from './summary.js';

const SERVERS = 20;

describe('compute worker killed mid-cast', () => {
  const summary = new ChaosSummary();
  let cloud: ProcessCloud;

  beforeAll(async () => {
    cloud = await startProcessCloud({
      transportUrl: await brokerUrl(),
      databaseServerUrl: await databaseUrl(),
      settings: {
        DEFAULT: { service_down_time: 3, periodic_interval: 1, instance_build_timeout: 25 },
        fake_driver: { spawn_time: 1500 },
      },
    });
  }, 90_000);

  afterAll(async () => {
    summary.print();
    const codes = await cloud?.stop();
    if (codes) expect(Object.entries(codes).filter(([name, code]) => name !== 'compute-cmp-a' && code !== 0)).toEqual([]);
  }, 60_000);

  it('builds in flight on the killed compute end ACTIVE on the other one; none stuck, none built twice', async () => {
    const ids = await Promise.all(Array.from({ length: SERVERS }, (_, i) => cloud.boot(`kill-${i}`)));
    const admin = { isAdmin: true };
    const inFlightOnA = async () =>
      (await cloud.db.instances.listByHost(admin, 'cmp-a', { vm_state: 'building' })).filter((row) => row.task_state !== 'scheduling');
    const deadline = Date.now() + 15_000;
    while ((await inFlightOnA()).length < 3) {
      if (Date.now() > deadline) throw new Error('cmp-a never had 3 builds in flight');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const victim = cloud.workers.get('compute-cmp-a')!;
    victim.process.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    // Everything on cmp-a that was not finished when it died: in flight, or still queued for it.
    const orphaned = (await cloud.db.instances.listByHost(admin, 'cmp-a', { vm_state: 'building' })).map((row) => row.uuid);
    const queuedForA = await queueDepth(cloud.transportUrl, `${cloud.topics.compute}.cmp-a`);
    expect(orphaned.length).toBeGreaterThanOrEqual(3);

    const servers = await waitSettled(cloud, ids, 45_000);
    const recoverySeconds = (Date.now() - killedAt) / 1000;
    const states = [...servers.values()].map((s) => s?.status ?? 'MISSING');
    const count = (status: string) => states.filter((s) => s === status).length;
    const takenOver = orphaned.filter((uuid) => servers.get(uuid)?.status === 'ACTIVE' && servers.get(uuid)['OS-EXT-SRV-ATTR:host'] === 'cmp-b');
    const multiAddress = [...servers.values()].filter((s) => s?.status === 'ACTIVE' && s.addresses.private.length !== 1);
    const fixedIps = await Promise.all(ids.map(async (uuid) => (await cloud.db.fixedIps.listByInstance(admin, uuid)).length));
    summary.add({
      scenario: 'SIGKILL compute with builds in flight',
      sent: SERVERS,
      processed: count('ACTIVE') + count('ERROR'),
      lost: SERVERS - count('ACTIVE') - count('ERROR'),
      duplicated: multiAddress.length + fixedIps.filter((n) => n > 1).length,
      recoverySeconds,
      notes: `${orphaned.length} orphaned on cmp-a (${queuedForA} casts requeued in its queue), ${takenOver.length} rebuilt on cmp-b; ACTIVE ${count('ACTIVE')}, ERROR ${count('ERROR')}, BUILD ${count('BUILD')}`,
    });
    expect(states.filter((s) => s !== 'ACTIVE' && s !== 'ERROR')).toEqual([]);
    expect(takenOver.sort()).toEqual([...orphaned].sort());
    expect(count('ACTIVE')).toBe(SERVERS);
    expect(multiAddress).toEqual([]);
    expect(queuedForA).toBeGreaterThan(0);
  }, 90_000);

  it('the restarted compute drops the stale casts it finds in its queue', async () => {
    const before = await statuses(cloud, (await cloud.db.instances.list({ isAdmin: true }, {})).map((row) => row.uuid));
    const restarted = cloud.start('compute-cmp-a');
    const queue = `${cloud.topics.compute}.cmp-a`;
    await expect.poll(() => queueDepth(cloud.transportUrl, queue), { timeout: 20_000, interval: 250 }).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = await statuses(cloud, [...before.keys()]);
    const changed = [...before.keys()].filter((uuid) => before.get(uuid)?.status !== after.get(uuid)?.status || before.get(uuid)['OS-EXT-SRV-ATTR:host'] !== after.get(uuid)['OS-EXT-SRV-ATTR:host']);
    const dropped = restarted.lines.filter((line) => /no longer waits to be built here/.test(line.msg)).length;
    summary.add({ scenario: 'restarted compute: stale casts', sent: dropped, processed: dropped, lost: 0, duplicated: changed.length, notes: `${dropped} stale run_instance dropped` });
    expect(changed).toEqual([]);
    expect(dropped).toBeGreaterThan(0);
  }, 40_000);
});
