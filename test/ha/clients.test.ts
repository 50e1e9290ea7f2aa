/**
 * The instance HA API with real clients (python3-masakariclient through `openstack`,
 * openstacksdk's instance_ha proxy) and raw HTTP, on a multi-process cloud; VM and PROCESS
 * notifications run their workflows (stop/start, compute disabled).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENSTACK_CLI, requireCli, runCli } from '../support/openstack-cli.js';
import { HA_USERS, startHaCloud, waitFor, type HaCloud } from '../support/ha-cloud.js';
import { bootServers } from './scenario.js';

const HERE = new URL('.', import.meta.url).pathname;

function finished(ha: HaCloud, uuid: string) {
  return waitFor(async () => {
    const notification = (await ha.ha('GET', `/notifications/${uuid}`, undefined, { version: '1.1' })).body.notification;
    if (['new', 'running'].includes(notification.status)) throw new Error(notification.status);
    return notification;
  }, 60_000, `notification ${uuid}`);
}

describe('instance HA API with real clients', () => {
  let ha: HaCloud;
  beforeAll(async () => {
    await requireCli(OPENSTACK_CLI, 'python3-openstackclient');
    await requireCli('/usr/lib/python3/dist-packages/masakariclient/plugin.py', 'python3-masakariclient');
    ha = await startHaCloud({ computes: ['cla', 'clb'], monitors: 0 });
  }, 180_000);
  afterAll(async () => ha?.stop());

  it('openstack segment create, segment host create, notification create/list/show (python-masakariclient)', async () => {
    const env = ha.env(HA_USERS.admin);
    const segment = await runCli(OPENSTACK_CLI, ['segment', 'create', 'cli-segment', 'auto', 'COMPUTE', '-f', 'json'], env);
    expect(segment.code, segment.stderr).toBe(0);
    expect(segment.json).toMatchObject({ name: 'cli-segment', recovery_method: 'auto', service_type: 'COMPUTE' });
    const host = await runCli(OPENSTACK_CLI, ['segment', 'host', 'create', 'cla', 'COMPUTE', 'SSH', 'cli-segment', '-f', 'json'], env);
    expect(host.code, host.stderr).toBe(0);
    expect(host.json).toMatchObject({ name: 'cla', type: 'COMPUTE', control_attributes: 'SSH', failover_segment_id: segment.json.uuid });
    const payload = JSON.stringify({ process_name: 'nova-compute', event: 'STOPPED' });
    const created = await runCli(OPENSTACK_CLI, ['notification', 'create', 'PROCESS', 'cla', new Date().toISOString().slice(0, 19), payload, '-f', 'json'], env);
    expect(created.code, created.stderr).toBe(0);
    const uuid = created.json.notification_uuid as string;
    expect(created.json).toMatchObject({ type: 'PROCESS', source_host_uuid: host.json.uuid });
    const done = await finished(ha, uuid);
    expect(done.status).toBe('finished');
    const list = await runCli(OPENSTACK_CLI, ['notification', 'list', '-f', 'json'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json.map((n: { notification_uuid: string }) => n.notification_uuid)).toContain(uuid);
    const shown = await runCli(OPENSTACK_CLI, ['notification', 'show', uuid, '-f', 'json'], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.json).toMatchObject({ notification_uuid: uuid, status: 'finished' });

    // The PROCESS workflow disabled the compute service and put the host on maintenance.
    const service = (await ha.compute('GET', '/os-services?host=cla&binary=nova-compute')).body.services[0];
    expect(service).toMatchObject({ status: 'disabled', disabled_reason: 'Masakari detected process failed.' });
    expect(done.recovery_workflow_details.map((s: { name: string; state: string }) => `${s.name}:${s.state}`)).toEqual(['DisableComputeNodeTask:SUCCESS', 'ConfirmComputeNodeDisabledTask:SUCCESS']);
  }, 180_000);

  it("openstacksdk's instance_ha proxy creates and reads segments, hosts and notifications", async () => {
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('/usr/bin/python3', [join(HERE, 'py_instance_ha.py'), 'sdk-segment', 'clb'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...ha.env(HA_USERS.admin) }, timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? 1 : 0, stdout, stderr }));
    });
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.segments).toContain('sdk-segment');
    expect(out.segment).toMatchObject({ recovery_method: 'auto', is_enabled: true });
    expect(out.hosts).toEqual(['clb']);
    expect(out.host.failover_segment_id).toBe(out.segment.uuid);
    expect(out.fetched).toEqual({ uuid: out.notification.uuid, type: 'PROCESS', hostname: 'clb' });
  }, 180_000);

  it('a VM notification stops, starts and confirms the server ACTIVE', async () => {
    const [server] = await bootServers(ha, 'vm', 1);
    const created = await ha.ha('POST', '/notifications', {
      notification: { type: 'VM', hostname: server!.host, generated_time: new Date().toISOString(), payload: { instance_uuid: server!.id, vir_domain_event: 'STOPPED_FAILED', event: 'LIFECYCLE' } },
    });
    expect(created.status, created.text).toBe(202);
    const done = await finished(ha, created.body.notification.notification_uuid);
    expect(done.status).toBe('finished');
    expect(done.recovery_workflow_details.map((s: { name: string }) => s.name)).toEqual(['StopInstanceTask', 'StartInstanceTask', 'ConfirmInstanceActiveTask']);
    const actions = (await ha.compute('GET', `/servers/${server!.id}/os-instance-actions`)).body.instanceActions.map((a: { action: string }) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['stop', 'start']));
    expect((await ha.compute('GET', `/servers/${server!.id}`)).body.server.status).toBe('ACTIVE');

    const ignored = await ha.ha('POST', '/notifications', {
      notification: { type: 'VM', hostname: server!.host, generated_time: new Date().toISOString(), payload: { instance_uuid: server!.id, vir_domain_event: 'STARTED_BOOTED', event: 'LIFECYCLE' } },
    });
    expect((await finished(ha, ignored.body.notification.notification_uuid)).status).toBe('ignored');
  }, 120_000);

  it("answers bad bodies 400, non-admins 403 and missing tokens 401 in Masakari's shapes", async () => {
    const noToken = await ha.ha('GET', '/segments', undefined, { token: null });
    expect(noToken.status).toBe(401);
    expect(noToken.body.error).toMatchObject({ code: 401, title: 'Unauthorized' });
    const alice = await ha.login(HA_USERS.alice);
    const forbidden = await ha.ha('GET', '/segments', undefined, { token: alice });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.forbidden.code).toBe(403);
    const badMethod = await ha.ha('POST', '/segments', { segment: { name: 'x', recovery_method: 'sometimes', service_type: 'COMPUTE' } });
    expect(badMethod.status).toBe(400);
    expect(badMethod.body.badRequest).toMatchObject({ code: 400, message: expect.stringContaining('recovery_method') });
    const extra = await ha.ha('POST', '/segments', { segment: { name: 'x', recovery_method: 'auto', service_type: 'COMPUTE', colour: 'red' } });
    expect(extra.body.badRequest.message).toMatch(/Additional properties are not allowed \('colour' was unexpected\)/);
    const enabledTooEarly = await ha.ha('POST', '/segments', { segment: { name: 'x', recovery_method: 'auto', service_type: 'COMPUTE', enabled: false } }, { version: '1.1' });
    expect(enabledTooEarly.status).toBe(400);
    const badPayload = await ha.ha('POST', '/notifications', { notification: { type: 'COMPUTE_HOST', hostname: 'cla', generated_time: '2026-12-07T18:00:00', payload: { event: 'EXPLODED' } } });
    expect(badPayload.status).toBe(400);
    expect(badPayload.body.badRequest.message).toMatch(/event/);
    const unknownHost = await ha.ha('POST', '/notifications', { notification: { type: 'PROCESS', hostname: 'nowhere', generated_time: '2026-12-07T18:00:00', payload: { process_name: 'nova-compute', event: 'STOPPED' } } });
    expect(unknownHost.status).toBe(400);
    const tooNew = await ha.ha('GET', '/segments', undefined, { version: '1.9' });
    expect(tooNew.status).toBe(406);
    const versioned = await ha.ha('GET', '/segments', undefined, { version: '1.2' });
    expect(versioned.status).toBe(200);
    const vmovesAt12 = await ha.ha('GET', '/notifications/x/vmoves', undefined, { version: '1.2' });
    expect(vmovesAt12.status).toBe(404);
  }, 60_000);
});
