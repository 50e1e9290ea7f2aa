/**
 * The Compute API on the memory bus and SQLite: versions, auth, server CRUD, errors,
 * project isolation, request ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, IMAGE, OTHER, startCloud, USER, type TestCloud } from './support.js';

describe('Compute API: servers', () => {
  let cloud: TestCloud;

  beforeAll(async () => {
    cloud = await startCloud();
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  it('serves the version documents at / and /v2.1 without a token', async () => {
    const root = await cloud.request('GET', cloud.endpoint.replace('/v2.1', '/'), undefined, '');
    expect(root.status).toBe(300);
    expect(root.body.versions.map((v: { id: string }) => v.id)).toEqual(['v2.0', 'v2.1']);
    const v21 = await cloud.request('GET', cloud.endpoint, undefined, '');
    expect(v21.body.version).toMatchObject({ id: 'v2.1', status: 'CURRENT', version: '2.79', min_version: '2.1' });
  });

  it('refuses requests without a token with the unauthorized fault', async () => {
    const answer = await cloud.request('GET', '/servers', undefined, '');
    expect(answer.status).toBe(401);
    expect(answer.body.unauthorized.code).toBe(401);
  });

  it('boots a server to ACTIVE with an address, and shows it in list, detail and ips', async () => {
    const created = await cloud.request('POST', '/servers', {
      server: { name: 'web-1', imageRef: IMAGE, flavorRef: '1', metadata: { role: 'web' } },
    });
    expect(created.status).toBe(202);
    expect(created.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(created.body.server.adminPass).toEqual(expect.any(String));
    const id = created.body.server.id as string;
    const server = await cloud.waitFor(id, ['ACTIVE']);
    expect(server).toMatchObject({ name: 'web-1', status: 'ACTIVE', metadata: { role: 'web' }, tenant_id: 'project-a', user_id: 'alice' });
    expect(server['OS-EXT-STS:power_state']).toBe(1);
    expect(server.addresses.private[0].addr).toMatch(/^10\.0\.0\.\d+$/);
    expect(server.flavor.id).toBe('1');
    expect(server['OS-EXT-SRV-ATTR:host']).toBeUndefined();

    const list = await cloud.request('GET', '/servers');
    expect(list.body.servers.map((s: { id: string }) => s.id)).toContain(id);
    const detail = await cloud.request('GET', '/servers/detail?name=web&status=ACTIVE');
    expect(detail.body.servers.map((s: { id: string }) => s.id)).toContain(id);
    const none = await cloud.request('GET', '/servers/detail?status=SHUTOFF');
    expect(none.body.servers).toEqual([]);
    const ips = await cloud.request('GET', `/servers/${id}/ips`);
    expect(ips.body.addresses.private[0]).toMatchObject({ version: 4, addr: server.addresses.private[0].addr });
    const byNetwork = await cloud.request('GET', `/servers/${id}/ips/private`);
    expect(byNetwork.body.private).toHaveLength(1);
  });

  it('the request id of a boot appears in the api, scheduler, network and compute logs', async () => {
    const created = await cloud.request('POST', '/servers', { server: { name: 'traced', imageRef: IMAGE, flavorRef: '1' } });
    const requestId = created.headers.get('x-openstack-request-id');
    await cloud.waitFor(created.body.server.id, ['ACTIVE']);
    const services = new Set(cloud.logs.lines.filter((line) => line.request_id === requestId).map((line) => line.service));
    expect([...services].sort()).toEqual(['api', 'compute', 'network', 'scheduler']);
  });

  it('boots min/max count servers with numbered names', async () => {
    const created = await cloud.request('POST', '/servers', { server: { name: 'batch', imageRef: IMAGE, flavorRef: '1', min_count: 2, max_count: '3' } });
    expect(created.status).toBe(202);
    const list = await cloud.request('GET', '/servers?name=batch-');
    expect(list.body.servers.map((s: { name: string }) => s.name).sort()).toEqual(['batch-1', 'batch-2', 'batch-3']);
  });

  it('answers bad bodies with badRequest naming the field, never a stack trace', async () => {
    const noName = await cloud.request('POST', '/servers', { server: { imageRef: IMAGE, flavorRef: '1' } });
    expect(noName.status).toBe(400);
    expect(noName.body.badRequest.message).toContain('server.name');
    const badMeta = await cloud.request('POST', '/servers', { server: { name: 'x', imageRef: IMAGE, flavorRef: '1', metadata: { a: 5 } } });
    expect(badMeta.body.badRequest.message).toContain('server.metadata.a');
    const badFlavor = await cloud.request('POST', '/servers', { server: { name: 'x', imageRef: IMAGE, flavorRef: '999' } });
    expect(badFlavor.body.badRequest.message).toContain('Flavor 999');
    const badImage = await cloud.request('POST', '/servers', { server: { name: 'x', imageRef: 'nope', flavorRef: '1' } });
    expect(badImage.body.badRequest.message).toContain('image');
    const badJson = await cloud.request('POST', '/servers', '{"server": ');
    expect(badJson.status).toBe(400);
    expect(JSON.stringify(badJson.body)).not.toMatch(/at .*\.ts:\d+/);
    const missing = await cloud.request('GET', '/servers/does-not-exist');
    expect(missing.status).toBe(404);
    expect(missing.body.itemNotFound.message).toContain('does-not-exist');
    const tooNew = await fetch(`${cloud.endpoint}/servers`, { headers: { 'x-auth-token': USER, 'openstack-api-version': 'compute 2.90' } });
    expect(tooNew.status).toBe(406);
  });

  it('renames a server and sets its access addresses', async () => {
    const id = await cloud.boot('old-name');
    const answer = await cloud.request('PUT', `/servers/${id}`, { server: { name: 'new-name', accessIPv4: '192.0.2.10' } });
    expect(answer.status).toBe(200);
    expect(answer.body.server).toMatchObject({ name: 'new-name', accessIPv4: '192.0.2.10' });
    const bad = await cloud.request('PUT', `/servers/${id}`, { server: { colour: 'red' } });
    expect(bad.status).toBe(400);
  });

  it('isolates projects: another project gets 404, and does not list the server', async () => {
    const id = await cloud.boot('private-server');
    await cloud.waitFor(id, ['ACTIVE']);
    for (const [method, path, body] of [
      ['GET', `/servers/${id}`],
      ['DELETE', `/servers/${id}`],
      ['PUT', `/servers/${id}`, { server: { name: 'stolen' } }],
      ['GET', `/servers/${id}/metadata`],
      ['POST', `/servers/${id}/action`, { reboot: { type: 'SOFT' } }],
    ] as const) {
      const answer = await cloud.request(method, path, body, OTHER);
      expect(answer.status, `${method} ${path}`).toBe(404);
    }
    const list = await cloud.request('GET', '/servers', undefined, OTHER);
    expect(list.body.servers.map((s: { id: string }) => s.id)).not.toContain(id);
    const wrongPath = await cloud.request('GET', `${cloud.endpoint}/project-a/servers`, undefined, OTHER);
    expect(wrongPath.status).toBe(400);
    const adminView = await cloud.request('GET', `/servers/${id}`, undefined, ADMIN);
    expect(adminView.body.server['OS-EXT-SRV-ATTR:host']).toMatch(/^c[12]$/);
  });

  it('deletes a server and frees its address', async () => {
    const id = await cloud.boot('doomed');
    const server = await cloud.waitFor(id, ['ACTIVE']);
    const address = server.addresses.private[0].addr as string;
    const ctx = { isAdmin: true };
    expect((await cloud.runtime.db.fixedIps.getByAddress(ctx, address)).instance_uuid).toBe(id);
    expect((await cloud.request('DELETE', `/servers/${id}`)).status).toBe(204);
    await cloud.waitFor(id, ['DELETED']);
    await expect.poll(async () => (await cloud.runtime.db.fixedIps.getByAddress(ctx, address)).instance_uuid, { timeout: 5000 }).toBeNull();
  });

  it('puts a server in ERROR with a fault when no host fits it', async () => {
    const created = await cloud.request('POST', '/servers', { server: { name: 'huge', imageRef: IMAGE, flavorRef: '1', availability_zone: 'nowhere' } });
    const server = await cloud.waitFor(created.body.server.id, ['ERROR']);
    expect(server.fault.message).toContain('No valid host');
  });

  it('gives up after scheduler_max_attempts when every host fails the spawn', async () => {
    const id = await cloud.boot('cursed', { metadata: { 'fake_driver:fail_on': '*' } });
    const server = await cloud.waitFor(id, ['ERROR']);
    // Two hosts: both are tried, then none is left (with three, the attempt limit stops it).
    expect(server.fault.message).toMatch(/No valid host|Exceeded maximum number of retries/);
    expect(server.fault.message).toContain('Fake driver was told to fail');
    const nodes = await cloud.runtime.db.computeNodes.list({ isAdmin: true });
    expect(nodes.every((node) => node.memory_mb_used >= 0)).toBe(true);
  });
});
