/**
 * Instance HA end to end, every service its own process on RabbitMQ + MariaDB: three
 * computes, the HA API, one engine and two host monitors (report_interval 1,
 * service_down_time 5, host_down_time 5). A SIGKILLed compute's servers come back
 * ACTIVE elsewhere with the same ids and addresses, once; the duplicate report is
 * ignored; a killed engine's workflow is finished by the next engine.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startHaCloud, waitFor, type HaCloud } from '../support/ha-cloud.js';
import { HaFigures } from './figures.js';
import { bootServers, busiestHost, createSegment, figureOf, notificationsOf, waitEvacuated } from './scenario.js';

const figures = new HaFigures();
afterAll(() => figures.print());

describe('host failure: three computes, two host monitors', () => {
  let ha: HaCloud;
  afterAll(async () => ha?.stop());

  it('evacuates every server of a SIGKILLed compute once, fast, and ignores the duplicate report', async () => {
    ha = await startHaCloud({ computes: ['hfa', 'hfb', 'hfc'], monitors: 2 });
    await createSegment(ha, 'segment-auto', 'auto', ['hfa', 'hfb', 'hfc']);
    const servers = await bootServers(ha, 'ha', 9);
    const dead = busiestHost(servers);
    const victims = servers.filter((s) => s.host === dead);
    const others = servers.filter((s) => s.host !== dead);

    await ha.cloud.workers.get(`compute-${dead}`)!.stop('SIGKILL');
    const killedAt = Date.now();
    const { servers: after, at } = await waitEvacuated(ha, victims, dead, 60_000);

    const figure = await figureOf(ha, `host failure (auto, ${victims.length} of 9 on ${dead})`, victims, after, killedAt, at);
    figures.add(figure);
    expect(after.map((s) => s.id)).toEqual(victims.map((s) => s.id));
    expect(after.map((s) => s.addresses)).toEqual(victims.map((s) => s.addresses));
    expect(figure.duplicated).toBe(0);
    expect(figure.lost).toBe(0);

    const service = (await ha.compute('GET', `/os-services?host=${dead}&binary=nova-compute`)).body.services[0];
    expect(service).toMatchObject({ status: 'disabled', forced_down: true, disabled_reason: 'Masakari detected host failed.', state: 'down' });

    const notifications = await waitFor(async () => {
      const list = await notificationsOf(ha, dead);
      if (list.length < 2 || !list.some((n) => n.status === 'finished')) throw new Error(JSON.stringify(list));
      return list;
    }, 30_000, 'both monitors\' reports');
    expect(notifications.filter((n) => n.status === 'finished')).toHaveLength(1);
    const ignored = notifications.filter((n) => n.status === 'ignored');
    expect(ignored.length).toBe(notifications.length - 1);
    expect(ignored[0]!.message).toMatch(/Duplicate of notification/);

    const finished = notifications.find((n) => n.status === 'finished')!;
    const vmoves = (await ha.ha('GET', `/notifications/${finished.notification_uuid}/vmoves`, undefined, { version: '1.3' })).body.vmoves;
    expect(vmoves).toHaveLength(victims.length);
    expect(vmoves.every((v: { status: string; source_host: string; dest_host: string }) => v.status === 'succeeded' && v.source_host === dead && v.dest_host !== dead)).toBe(true);
    const details = (await ha.ha('GET', `/notifications/${finished.notification_uuid}`, undefined, { version: '1.1' })).body.notification.recovery_workflow_details;
    expect(details.map((step: { name: string; state: string }) => [step.name, step.state])).toEqual([
      ['DisableComputeServiceTask', 'SUCCESS'],
      ['PrepareHAEnabledInstancesTask', 'SUCCESS'],
      ['EvacuateInstancesTask', 'SUCCESS'],
    ]);

    for (const other of others) {
      const now = (await ha.compute('GET', `/servers/${other.id}`)).body.server;
      expect([now.status, now['OS-EXT-SRV-ATTR:host']]).toEqual(['ACTIVE', other.host]);
    }
  }, 240_000);
});
