/**
 * The recovery methods of a segment, each on a cloud of its own (every service its own
 * process on RabbitMQ + MariaDB): reserved_host moves the servers to a reserved host it
 * enables; auto_priority falls back to the reserved host when the scheduler has no host;
 * rh_priority falls back to the scheduler when there is no reserved host. And a SIGKILLed
 * engine's workflow is finished by the next engine, nothing evacuated twice.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startHaCloud, waitFor, type HaCloud } from '../support/ha-cloud.js';
import { HaFigures } from './figures.js';
import { bootServers, createSegment, evacuations, killAndRecover, notificationsOf, setComputeEnabled, waitEvacuated } from './scenario.js';

const figures = new HaFigures();
afterAll(() => figures.print());

describe('recovery methods and engine failover', () => {
  let ha: HaCloud | undefined;
  afterEach(async () => {
    await ha?.stop();
    ha = undefined;
  });

  it('reserved_host: evacuates to the reserved host, enabling it and clearing its reserved flag', async () => {
    ha = await startHaCloud({ computes: ['rsa', 'rsb'], monitors: 1 });
    const segment = await createSegment(ha, 'segment-rh', 'reserved_host', ['rsa', 'rsb'], ['rsb']);
    await setComputeEnabled(ha, 'rsb', false);
    const servers = await bootServers(ha, 'rh', 3);
    expect(servers.every((s) => s.host === 'rsa')).toBe(true);
    const { after } = await killAndRecover(ha, 'reserved_host (3 on rsa)', servers, 'rsa', figures);
    expect(after.every((s) => s.host === 'rsb')).toBe(true);
    const service = (await ha.compute('GET', '/os-services?host=rsb&binary=nova-compute')).body.services[0];
    expect(service.status).toBe('enabled');
    const hosts = (await ha.ha('GET', `/segments/${segment}/hosts`)).body.hosts;
    expect(hosts.find((h: { name: string }) => h.name === 'rsb')).toMatchObject({ reserved: false, on_maintenance: false });
    expect(hosts.find((h: { name: string }) => h.name === 'rsa')).toMatchObject({ on_maintenance: true });
  }, 240_000);

  it('auto_priority: when the scheduler has no host, falls back to the reserved host', async () => {
    ha = await startHaCloud({ computes: ['apa', 'apb'], monitors: 1 });
    await createSegment(ha, 'segment-ap', 'auto_priority', ['apa', 'apb'], ['apb']);
    await setComputeEnabled(ha, 'apb', false);
    const servers = await bootServers(ha, 'ap', 2);
    const { after, notification } = await killAndRecover(ha, 'auto_priority → reserved host', servers, 'apa', figures);
    expect(after.every((s) => s.host === 'apb')).toBe(true);
    const vmoves = (await ha.ha('GET', `/notifications/${notification}/vmoves`, undefined, { version: '1.3' })).body.vmoves;
    expect(vmoves.map((v: { status: string; dest_host: string }) => [v.status, v.dest_host])).toEqual(servers.map(() => ['succeeded', 'apb']));
  }, 240_000);

  it('rh_priority: without a reserved host, falls back to the scheduler', async () => {
    ha = await startHaCloud({ computes: ['rpa', 'rpb'], monitors: 1 });
    await createSegment(ha, 'segment-rp', 'rh_priority', ['rpa', 'rpb']);
    await setComputeEnabled(ha, 'rpb', false);
    const servers = await bootServers(ha, 'rp', 2);
    await setComputeEnabled(ha, 'rpb', true);
    const { after } = await killAndRecover(ha, 'rh_priority → auto', servers, 'rpa', figures);
    expect(after.every((s) => s.host === 'rpb')).toBe(true);
  }, 240_000);

  it('an engine SIGKILLed mid-workflow: the next engine finishes it, nothing evacuated twice', async () => {
    ha = await startHaCloud({
      computes: ['eka', 'ekb'],
      monitors: 1,
      settings: { fake_driver: { spawn_time: 1500 }, ha: { evacuate_concurrency: 1 } },
    });
    await createSegment(ha, 'segment-ek', 'auto', ['eka', 'ekb']);
    await setComputeEnabled(ha, 'ekb', false);
    const servers = await bootServers(ha, 'ek', 4);
    await setComputeEnabled(ha, 'ekb', true);
    await ha.cloud.workers.get('compute-eka')!.stop('SIGKILL');
    const killedAt = Date.now();
    const running = await waitFor(async () => {
      const found = (await notificationsOf(ha!, 'eka')).find((n) => n.status === 'running');
      if (!found) throw new Error('no running workflow yet');
      const vmoves = (await ha!.ha('GET', `/notifications/${found.notification_uuid}/vmoves`, undefined, { version: '1.3' })).body.vmoves ?? [];
      if (!vmoves.some((v: { status: string }) => v.status === 'succeeded')) throw new Error('no server moved yet');
      return found;
    }, 60_000, 'a workflow half way');
    await ha.cloud.workers.get('ha-engine-1')!.stop('SIGKILL');
    ha.start('ha-engine-2');
    const { servers: after, at } = await waitEvacuated(ha, servers, 'eka', 120_000);
    const final = await waitFor(async () => {
      const found = (await ha!.ha('GET', `/notifications/${running.notification_uuid}`, undefined, { version: '1.1' })).body.notification;
      if (found.status === 'running') throw new Error('still running');
      return found;
    }, 30_000, 'the workflow to end');
    expect(final.status).toBe('finished');
    const counts = await Promise.all(servers.map((s) => evacuations(ha!, s.id)));
    expect(counts).toEqual(servers.map(() => 1));
    figures.add({ scenario: 'engine SIGKILLed mid-workflow', servers: servers.length, recovered: after.filter((s) => s.status === 'ACTIVE').length, lost: 0, duplicated: counts.filter((n) => n > 1).length, killToActiveSeconds: (at - killedAt) / 1000 });
  }, 300_000);
});
