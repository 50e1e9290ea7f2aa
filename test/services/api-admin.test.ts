/**
 * Admin and catalogue resources of the Compute API by microversion: os-services (host/binary
 * forms up to 2.52, UUIDs from 2.53, force-down), os-hypervisors, limits, os-quota-sets
 * (enforced on boot), os-availability-zone, flavor extra specs and access.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, IMAGE, startCloud, USER, type TestCloud } from './support.js';

/** Nova's default limits (novarpc's default is unlimited). */
const NOVA_QUOTAS = { instances: 10, cores: 20, ram: 51200 };

describe('Compute API admin and catalogue resources', () => {
  let cloud: TestCloud;
  beforeAll(async () => {
    cloud = await startCloud({ serviceDownTime: 10, quota: NOVA_QUOTAS }, ['c1', 'c2']);
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  const call = async (method: string, path: string, version: string, body?: unknown, token = ADMIN) => {
    const response = await fetch(`${cloud.endpoint}${path}`, {
      method,
      headers: { 'x-auth-token': token, 'openstack-api-version': `compute ${version}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const compute = async (host: string, version: string) =>
    (await call('GET', `/os-services?host=${host}&binary=nova-compute`, version)).body.services[0];

  it('lists services with integer ids up to 2.52 and UUIDs with forced_down from 2.53', async () => {
    const old = await compute('c1', '2.1');
    expect(old.id).toEqual(expect.any(Number));
    expect(old).not.toHaveProperty('forced_down');
    const current = await compute('c1', '2.53');
    expect(current.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(current).toMatchObject({ forced_down: false, state: 'up', status: 'enabled', zone: 'nova' });
    expect((await call('GET', '/os-services', '2.1', undefined, USER)).status).toBe(403);
  });

  it('disables and forces down with the host/binary forms; the scheduler avoids such hosts', async () => {
    const disabled = await call('PUT', '/os-services/disable-log-reason', '2.11', { host: 'c1', binary: 'nova-compute', disabled_reason: 'maintenance' });
    expect(disabled.body.service).toEqual({ host: 'c1', binary: 'nova-compute', status: 'disabled', disabled_reason: 'maintenance' });
    expect((await call('PUT', '/os-services/force-down', '2.10', { host: 'c2', binary: 'nova-compute', forced_down: true })).status).toBe(404);
    const forced = await call('PUT', '/os-services/force-down', '2.11', { host: 'c2', binary: 'nova-compute', forced_down: true });
    expect(forced.body.service).toEqual({ host: 'c2', binary: 'nova-compute', forced_down: true });
    expect((await compute('c2', '2.11')).state).toBe('down');
    const refused = await cloud.waitFor(await cloud.boot('nowhere'), ['ERROR'], ADMIN);
    expect(refused.status).toBe('ERROR');
    await call('PUT', '/os-services/force-down', '2.11', { host: 'c2', binary: 'nova-compute', forced_down: false });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the scheduler's host states live 1 s
    const placed = await cloud.waitFor(await cloud.boot('on-c2'), ['ACTIVE'], ADMIN);
    expect(placed['OS-EXT-SRV-ATTR:host']).toBe('c2');
    const enabled = await call('PUT', '/os-services/enable', '2.1', { host: 'c1', binary: 'nova-compute' });
    expect(enabled.body.service.status).toBe('enabled');
    expect((await compute('c1', '2.53')).disabled_reason).toBeNull();
  });

  it('updates services by UUID from 2.53, as Nova validates it', async () => {
    const { id } = await compute('c1', '2.53');
    const disabled = await call('PUT', `/os-services/${id}`, '2.53', { status: 'disabled', disabled_reason: 'rack move' });
    expect(disabled.body.service).toMatchObject({ id, status: 'disabled', disabled_reason: 'rack move', host: 'c1' });
    expect((await call('PUT', `/os-services/${id}`, '2.53', { status: 'enabled', disabled_reason: 'x' })).status).toBe(400);
    expect((await call('PUT', `/os-services/${id}`, '2.53', {})).status).toBe(400);
    expect((await call('PUT', '/os-services/disable', '2.53', { host: 'c1', binary: 'nova-compute' })).status).toBe(400);
    const scheduler = (await call('GET', '/os-services?binary=nova-scheduler', '2.53')).body.services[0];
    expect((await call('PUT', `/os-services/${scheduler.id}`, '2.53', { status: 'disabled' })).body.badRequest.message).toMatch(/Only nova-compute/);
    const enabled = await call('PUT', `/os-services/${id}`, '2.69', { status: 'enabled', forced_down: false });
    expect(enabled.body.service).toMatchObject({ status: 'enabled', forced_down: false, disabled_reason: null });
  });

  it('shows hypervisors by integer id, by UUID from 2.53, and their statistics', async () => {
    const old = (await call('GET', '/os-hypervisors', '2.1')).body.hypervisors;
    expect(old.map((h: { hypervisor_hostname: string }) => h.hypervisor_hostname).sort()).toEqual(['c1', 'c2']);
    expect((await call('GET', `/os-hypervisors/${old[0].id}`, '2.1')).body.hypervisor.memory_mb).toBe(800000);
    const detail = (await call('GET', '/os-hypervisors/detail', '2.53')).body.hypervisors;
    expect(detail[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(detail[0].service.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof detail[0].cpu_info).toBe('object');
    expect((await call('GET', `/os-hypervisors/${detail[0].id}`, '2.53')).status).toBe(200);
    expect((await call('GET', '/os-hypervisors?hypervisor_hostname_pattern=c2', '2.53')).body.hypervisors).toHaveLength(1);
    const stats = (await call('GET', '/os-hypervisors/statistics', '2.1')).body.hypervisor_statistics;
    expect(stats).toMatchObject({ count: 2, vcpus: 2000, memory_mb: 1600000 });
    expect((await call('GET', '/os-hypervisors/c1/search', '2.1')).body.hypervisors).toHaveLength(1);
    expect((await call('GET', '/os-hypervisors/c1/search', '2.53')).status).toBe(404);
    expect((await call('GET', '/os-hypervisors/c1', '2.1')).status).toBe(404);
    const uptime = (await call('GET', `/os-hypervisors/${old[0].id}/uptime`, '2.1')).body.hypervisor;
    expect(uptime.uptime).toMatch(/^\s*\d\d:\d\d:\d\d up .+,\s+0 users,\s+load average: 0\.00, 0\.00, 0\.00$/);
    expect((await call('GET', '/os-aggregates', '2.1')).body).toEqual({ aggregates: [] });
    expect((await call('GET', '/os-aggregates', '2.1', undefined, USER)).status).toBe(403);
  });

  it('counts usage in limits and enforces quotas on boot with Nova\'s 403', async () => {
    const project = 'quota-project';
    const token = `carol:${project}`;
    const before = (await call('GET', '/limits', '2.1', undefined, token)).body.limits.absolute;
    expect(before).toMatchObject({ maxTotalInstances: 10, totalInstancesUsed: 0, maxSecurityGroups: 10 });
    expect((await call('GET', '/limits', '2.57', undefined, token)).body.limits.absolute).not.toHaveProperty('maxPersonality');
    expect((await call('GET', `/os-quota-sets/${project}`, '2.1', undefined, token)).body.quota_set).toMatchObject({ id: project, instances: 10, floating_ips: 10 });
    expect((await call('GET', `/os-quota-sets/${project}`, '2.36', undefined, token)).body.quota_set).not.toHaveProperty('floating_ips');
    expect((await call('PUT', `/os-quota-sets/${project}`, '2.1', { quota_set: { instances: 1 } }, token)).status).toBe(403);
    expect((await call('PUT', `/os-quota-sets/${project}`, '2.1', { quota_set: { colour: 1 } })).status).toBe(400);
    const updated = await call('PUT', `/os-quota-sets/${project}`, '2.1', { quota_set: { instances: 1 } });
    expect(updated.body.quota_set.instances).toBe(1);
    await cloud.waitFor(await cloud.boot('first', {}, token), ['ACTIVE'], token);
    const used = (await call('GET', '/limits', '2.1', undefined, token)).body.limits.absolute;
    expect(used).toMatchObject({ totalInstancesUsed: 1, totalCoresUsed: 1, totalRAMUsed: 512, totalSecurityGroupsUsed: 1, totalFloatingIpsUsed: 0 });
    const second = await call('POST', '/servers', '2.1', { server: { name: 'second', imageRef: IMAGE, flavorRef: '1' } }, token);
    expect(second.status).toBe(403);
    expect(second.body.forbidden.message).toBe('Quota exceeded for instances: Requested 1, but already used 1 of 1 instances');
    expect((await call('PUT', `/os-quota-sets/${project}`, '2.1', { quota_set: { instances: 0 } })).status).toBe(400);
    expect((await call('DELETE', `/os-quota-sets/${project}`, '2.1')).status).toBe(202);
    expect((await call('GET', `/os-quota-sets/${project}/defaults`, '2.1', undefined, token)).body.quota_set.instances).toBe(10);
  });

  it('lists availability zones, with detail for admins only', async () => {
    const zones = (await call('GET', '/os-availability-zone', '2.1', undefined, USER)).body.availabilityZoneInfo;
    expect(zones).toEqual([{ zoneName: 'nova', zoneState: { available: true }, hosts: null }]);
    expect((await call('GET', '/os-availability-zone/detail', '2.1', undefined, USER)).status).toBe(403);
    const detail = (await call('GET', '/os-availability-zone/detail', '2.1')).body.availabilityZoneInfo;
    const nova = detail.find((zone: { zoneName: string }) => zone.zoneName === 'nova');
    expect(Object.keys(nova.hosts).sort()).toEqual(['c1', 'c2']);
    expect(nova.hosts.c1['nova-compute']).toMatchObject({ available: true, active: true });
    expect(detail.map((zone: { zoneName: string }) => zone.zoneName)).toContain('internal');
  });

  it('keeps flavor extra specs (admins change them) and shows them in flavors from 2.61', async () => {
    expect((await call('GET', '/flavors/1/os-extra_specs', '2.1', undefined, USER)).body).toEqual({ extra_specs: {} });
    expect((await call('POST', '/flavors/1/os-extra_specs', '2.1', { extra_specs: { 'hw:cpu_policy': 'dedicated' } }, USER)).status).toBe(403);
    const created = await call('POST', '/flavors/1/os-extra_specs', '2.1', { extra_specs: { 'hw:cpu_policy': 'dedicated', 'quota:disk_read_bytes_sec': 10240 } });
    expect(created.body.extra_specs['quota:disk_read_bytes_sec']).toBe('10240');
    expect((await call('PUT', '/flavors/1/os-extra_specs/hw:cpu_policy', '2.1', { 'hw:cpu_policy': 'shared' })).body).toEqual({ 'hw:cpu_policy': 'shared' });
    expect((await call('PUT', '/flavors/1/os-extra_specs/hw:cpu_policy', '2.1', { other: 'x' })).status).toBe(400);
    expect((await call('GET', '/flavors/1/os-extra_specs/hw:cpu_policy', '2.1', undefined, USER)).body).toEqual({ 'hw:cpu_policy': 'shared' });
    const flavor = (await call('GET', '/flavors/1', '2.61', undefined, USER)).body.flavor;
    expect(flavor.extra_specs).toEqual({ 'hw:cpu_policy': 'shared', 'quota:disk_read_bytes_sec': '10240' });
    expect(flavor.description).toBeNull();
    expect((await call('GET', '/flavors/1', '2.60', undefined, USER)).body.flavor).not.toHaveProperty('extra_specs');
    expect((await call('DELETE', '/flavors/1/os-extra_specs/hw:cpu_policy', '2.1')).status).toBe(200);
    expect((await call('DELETE', '/flavors/1/os-extra_specs/hw:cpu_policy', '2.1')).status).toBe(404);
    expect((await call('GET', '/flavors/1/os-flavor-access', '2.1')).status).toBe(404);
    expect((await call('POST', '/flavors/1/action', '2.1', { addTenantAccess: { tenant: 'p' } })).status).toBe(409);
  });

  it('creates private flavors that only shared projects see, and deletes flavors', async () => {
    const created = await call('POST', '/flavors', '2.55', { flavor: { name: 'private.small', ram: 256, vcpus: 1, disk: 1, id: 'p1', 'os-flavor-access:is_public': false, description: 'for project-a' } });
    expect(created.status).toBe(200);
    expect(created.body.flavor).toMatchObject({ id: 'p1', 'os-flavor-access:is_public': false, description: 'for project-a' });
    expect((await call('POST', '/flavors', '2.1', { flavor: { name: 'private.small', ram: 256, vcpus: 1, disk: 1 } })).status).toBe(409);
    expect((await call('POST', '/flavors', '2.1', { flavor: { name: 'x', ram: 256, vcpus: 1, disk: 1 } }, USER)).status).toBe(403);
    const names = async (token: string, query = '') => (await call('GET', `/flavors${query}`, '2.1', undefined, token)).body.flavors.map((f: { name: string }) => f.name);
    expect(await names(USER)).not.toContain('private.small');
    expect((await call('GET', '/flavors/p1', '2.1', undefined, USER)).status).toBe(404);
    const unshared = await call('POST', '/servers', '2.1', { server: { name: 'no-access', imageRef: IMAGE, flavorRef: 'p1' } }, USER);
    expect(unshared.body.badRequest.message).toBe('Flavor p1 could not be found.');
    expect(await names(ADMIN, '?is_public=none')).toContain('private.small');
    const shared = await call('POST', '/flavors/p1/action', '2.1', { addTenantAccess: { tenant: 'project-a' } });
    expect(shared.body.flavor_access).toEqual([{ flavor_id: 'p1', tenant_id: 'project-a' }]);
    expect(await names(USER)).toContain('private.small');
    expect((await call('GET', '/flavors/p1', '2.55', undefined, USER)).body.flavor.description).toBe('for project-a');
    expect((await call('PUT', '/flavors/p1', '2.55', { flavor: { description: 'changed' } })).body.flavor.description).toBe('changed');
    expect((await call('PUT', '/flavors/p1', '2.54', { flavor: { description: 'changed' } })).status).toBe(404);
    await call('POST', '/flavors/p1/action', '2.1', { removeTenantAccess: { tenant: 'project-a' } });
    expect(await names(USER)).not.toContain('private.small');
    expect((await call('DELETE', '/flavors/p1', '2.1')).status).toBe(202);
    expect((await call('GET', '/flavors/p1', '2.1')).status).toBe(404);
  });
});
