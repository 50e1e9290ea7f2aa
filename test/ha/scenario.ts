/**
 * Steps the instance HA tests share: a segment with the computes as hosts, servers booted
 * and ACTIVE, the kill of a compute, and the checks of what recovery left behind.
 */
import { expect } from 'vitest';
import { IMAGE } from '../services/support.js';
import { HA_USERS, waitFor, type HaCloud } from '../support/ha-cloud.js';
import type { HaFigure } from './figures.js';

/** A server as the admin sees it. */
export interface ServerView {
  id: string;
  status: string;
  host: string | null;
  task: string | null;
  addresses: unknown;
}

/** Creates a segment with `recoveryMethod` and adds every host (reserved ones flagged). */
export async function createSegment(ha: HaCloud, name: string, recoveryMethod: string, hosts: string[], reserved: string[] = []): Promise<string> {
  const segment = await ha.ha('POST', '/segments', { segment: { name, recovery_method: recoveryMethod, service_type: 'COMPUTE' } }, { version: '1.2' });
  expect(segment.status, segment.text).toBe(201);
  const uuid = segment.body.segment.uuid as string;
  for (const host of hosts) {
    const answer = await ha.ha('POST', `/segments/${uuid}/hosts`, { host: { name: host, type: 'COMPUTE', control_attributes: 'SSH', reserved: reserved.includes(host) } });
    expect(answer.status, answer.text).toBe(201);
  }
  return uuid;
}

/** Boots `count` servers as alice and waits until all are ACTIVE; returns them. */
export async function bootServers(ha: HaCloud, prefix: string, count: number): Promise<ServerView[]> {
  const token = await ha.login(HA_USERS.alice);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const answer = await fetch(`${ha.base}/v2.1/servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify({ server: { name: `${prefix}-${i}`, imageRef: IMAGE, flavorRef: '1', metadata: { n: String(i) } } }),
    });
    expect(answer.status).toBe(202);
    ids.push(((await answer.json()) as { server: { id: string } }).server.id);
  }
  return waitFor(async () => {
    const servers = await Promise.all(ids.map((id) => server(ha, id)));
    if (!servers.every((s) => s.status === 'ACTIVE' && !s.task)) throw new Error('not all ACTIVE yet');
    return servers;
  }, 60_000, 'servers ACTIVE');
}

/** One server as the admin sees it. */
export async function server(ha: HaCloud, id: string): Promise<ServerView> {
  const body = (await ha.compute('GET', `/servers/${id}`)).body?.server;
  return { id, status: body?.status, host: body?.['OS-EXT-SRV-ATTR:host'] ?? null, task: body?.['OS-EXT-STS:task_state'] ?? null, addresses: body?.addresses };
}

/** The host running most of the servers. */
export function busiestHost(servers: ServerView[]): string {
  const counts = new Map<string, number>();
  for (const s of servers) counts.set(s.host!, (counts.get(s.host!) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

/** Polls until every server of `victims` is ACTIVE on another host than `dead`; returns them and when. */
export async function waitEvacuated(ha: HaCloud, victims: ServerView[], dead: string, timeoutMs: number): Promise<{ servers: ServerView[]; at: number }> {
  return waitFor(async () => {
    const servers = await Promise.all(victims.map((v) => server(ha, v.id)));
    const pending = servers.filter((s) => s.status !== 'ACTIVE' || s.task || s.host === dead);
    if (pending.length) throw new Error(`${pending.length} not recovered: ${JSON.stringify(pending.map((s) => [s.status, s.host, s.task]))}`);
    return { servers, at: Date.now() };
  }, timeoutMs, `servers of ${dead} ACTIVE elsewhere`);
}

/** The notifications about a host. */
export async function notificationsOf(ha: HaCloud, host: string): Promise<Array<{ notification_uuid: string; status: string; message: string | null }>> {
  const answer = await ha.ha('GET', '/notifications');
  return (answer.body.notifications as Array<{ hostname: string; notification_uuid: string; status: string; message: string | null }>).filter((n) => n.hostname === host);
}

/** How many evacuate actions each server has (Nova's os-instance-actions). */
export async function evacuations(ha: HaCloud, id: string): Promise<number> {
  const actions = (await ha.compute('GET', `/servers/${id}/os-instance-actions`)).body?.instanceActions ?? [];
  return actions.filter((a: { action: string }) => a.action === 'evacuate').length;
}

/** The figure of a recovery: servers kept their id and addresses, none evacuated twice. */
export async function figureOf(ha: HaCloud, scenario: string, before: ServerView[], after: ServerView[], killedAt?: number, activeAt?: number): Promise<HaFigure> {
  const counts = await Promise.all(before.map((s) => evacuations(ha, s.id)));
  const recovered = after.filter((s, i) => s.status === 'ACTIVE' && JSON.stringify(s.addresses) === JSON.stringify(before[i]!.addresses)).length;
  return {
    scenario,
    servers: before.length,
    recovered,
    lost: before.length - recovered,
    duplicated: counts.filter((n) => n > 1).length,
    ...(killedAt && activeAt ? { killToActiveSeconds: (activeAt - killedAt) / 1000 } : {}),
  };
}

/** Enables or disables a host's nova-compute through the Compute API (2.53). */
export async function setComputeEnabled(ha: HaCloud, host: string, enabled: boolean): Promise<void> {
  const service = (await ha.compute('GET', `/os-services?host=${host}&binary=nova-compute`)).body.services[0];
  const answer = await ha.compute('PUT', `/os-services/${service.id}`, enabled ? { status: 'enabled' } : { status: 'disabled', disabled_reason: 'reserved for HA' });
  expect(answer.status, answer.text).toBe(200);
}

/** SIGKILLs a compute, waits for its servers ACTIVE elsewhere, records the figure and returns the servers and the finished notification. */
export async function killAndRecover(ha: HaCloud, scenario: string, victims: ServerView[], dead: string, figures: { add(row: HaFigure): void }): Promise<{ after: ServerView[]; notification: string }> {
  await ha.cloud.workers.get(`compute-${dead}`)!.stop('SIGKILL');
  const killedAt = Date.now();
  const { servers: after, at } = await waitEvacuated(ha, victims, dead, 90_000);
  const figure = await figureOf(ha, scenario, victims, after, killedAt, at);
  figures.add(figure);
  expect(figure).toMatchObject({ lost: 0, duplicated: 0 });
  const finished = await waitFor(async () => {
    const found = (await notificationsOf(ha, dead)).find((n) => n.status === 'finished');
    if (!found) throw new Error('no finished notification yet');
    return found;
  }, 30_000, 'the finished notification');
  return { after, notification: finished.notification_uuid };
}
