/**
 * The resources around servers on the memory bus and SQLite, through raw HTTP with
 * microversion headers: key pairs, security groups, floating IPs, console output,
 * diagnostics, interfaces, lock/unlock, reset state, instance actions and evacuation.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, OTHER, startCloud, USER, type Answer, type TestCloud } from './support.js';

describe('Compute API: resources around servers', () => {
  let cloud: TestCloud;
  /** A request at microversion `mv`. */
  const at = async (mv: string, method: string, path: string, body?: unknown, token = USER): Promise<Answer> => {
    const headers: Record<string, string> = { 'x-auth-token': token, 'openstack-api-version': `compute ${mv}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${cloud.endpoint}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };
  const act = (id: string, body: unknown, token = USER, mv = '2.1') => at(mv, 'POST', `/servers/${id}/action`, body, token);
  const bootActive = async (name: string, extra: Record<string, unknown> = {}, token = USER) => {
    const id = await cloud.boot(name, extra, token);
    return cloud.waitFor(id, ['ACTIVE'], token);
  };

  beforeAll(async () => {
    cloud = await startCloud({ fakeDriver: { spawnTimeMs: 5 }, serviceDownTime: 3 });
    // This file boots more servers in one project than the default quota allows.
    const raised = await cloud.request('PUT', '/os-quota-sets/project-a', { quota_set: { instances: 50, cores: 50 } }, ADMIN);
    if (raised.status !== 200) throw new Error(`quota update: ${raised.status} ${JSON.stringify(raised.body)}`);
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  it('key pairs: generated (private key once) and imported, per user, with the codes and fields of each microversion', async () => {
    const generated = await at('2.1', 'POST', '/os-keypairs', { keypair: { name: 'gen' } });
    expect(generated.status).toBe(200);
    const key = generated.body.keypair;
    expect(key.private_key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(key.public_key).toMatch(/^ssh-rsa AAAA/);
    expect(key).not.toHaveProperty('type');
    const blob = Buffer.from(key.public_key.split(' ')[1], 'base64');
    expect(key.fingerprint).toBe(createHash('md5').update(blob).digest('hex').match(/../g)!.join(':'));

    const imported = await at('2.2', 'POST', '/os-keypairs', { keypair: { name: 'imported', public_key: key.public_key } });
    expect(imported.status).toBe(201);
    expect(imported.body.keypair).toMatchObject({ name: 'imported', type: 'ssh', fingerprint: key.fingerprint, user_id: 'alice' });
    expect(imported.body.keypair).not.toHaveProperty('private_key');
    expect((await at('2.2', 'POST', '/os-keypairs', { keypair: { name: 'imported', public_key: key.public_key } })).status).toBe(409);
    expect((await at('2.2', 'POST', '/os-keypairs', { keypair: { name: 'bad', public_key: 'ssh-rsa not-base64!' } })).status).toBe(400);
    expect((await at('2.1', 'POST', '/os-keypairs', { keypair: { name: 'typed', type: 'ssh' } })).status).toBe(400);

    const listed = await at('2.2', 'GET', '/os-keypairs');
    expect(listed.body.keypairs.map((k: any) => k.keypair.name)).toEqual(['gen', 'imported']);
    expect((await at('2.1', 'GET', '/os-keypairs/gen')).body.keypair).toMatchObject({ name: 'gen', user_id: 'alice', deleted: false });
    // Per user: bob sees none of alice's keys; an admin sees them with user_id from 2.10.
    expect((await at('2.1', 'GET', '/os-keypairs/gen', undefined, OTHER)).status).toBe(404);
    expect((await at('2.10', 'GET', '/os-keypairs?user_id=alice', undefined, OTHER)).status).toBe(403);
    expect((await at('2.10', 'GET', '/os-keypairs?user_id=alice', undefined, ADMIN)).body.keypairs).toHaveLength(2);
    const paged = await at('2.35', 'GET', '/os-keypairs?limit=1');
    expect(paged.body.keypairs).toHaveLength(1);
    expect(paged.body.keypairs_links[0].href).toContain('marker=gen');

    expect((await at('2.1', 'DELETE', '/os-keypairs/gen')).status).toBe(202);
    expect((await at('2.2', 'DELETE', '/os-keypairs/imported')).status).toBe(204);
    expect((await at('2.2', 'DELETE', '/os-keypairs/imported')).status).toBe(404);
  });

  it('a server boots with a key: shown by name, its fingerprint on the console; console output honours length', async () => {
    const key = (await at('2.2', 'POST', '/os-keypairs', { keypair: { name: 'bootkey' } })).body.keypair;
    expect((await cloud.request('POST', '/servers', { server: { name: 'x', imageRef: '1', flavorRef: '1', key_name: 'nokey' } })).status).toBe(400);
    const server = await bootActive('keyed', { key_name: 'bootkey' });
    expect(server.key_name).toBe('bootkey');
    const full = await act(server.id, { 'os-getConsoleOutput': { length: null } });
    expect(full.status).toBe(200);
    expect(full.body.output).toContain(key.fingerprint);
    expect(full.body.output).toContain('keyed login:');
    expect((await act(server.id, { 'os-getConsoleOutput': { length: -1 } })).body.output).toBe(full.body.output);
    const tail = (await act(server.id, { 'os-getConsoleOutput': { length: 2 } })).body.output;
    expect(tail.split('\n').filter(Boolean)).toEqual(full.body.output.split('\n').filter(Boolean).slice(-2));
    expect((await act(server.id, { 'os-getConsoleOutput': { length: -2 } })).status).toBe(400);
  });

  it('security groups: a default per project, rules, boot and actions by name or id, gone from 2.36', async () => {
    const groups = await at('2.1', 'GET', '/os-security-groups');
    expect(groups.body.security_groups.map((g: any) => g.name)).toEqual(['default']);
    const web = (await at('2.1', 'POST', '/os-security-groups', { security_group: { name: 'web', description: 'http' } })).body.security_group;
    expect(web).toMatchObject({ name: 'web', description: 'http', tenant_id: 'project-a', rules: [] });
    const rule = await at('2.1', 'POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: web.id, ip_protocol: 'tcp', from_port: 80, to_port: 80, cidr: '0.0.0.0/0' } });
    expect(rule.status).toBe(200);
    expect(rule.body.security_group_rule).toMatchObject({ parent_group_id: web.id, ip_protocol: 'tcp', from_port: 80, to_port: 80, ip_range: { cidr: '0.0.0.0/0' } });
    const fromDefault = await at('2.1', 'POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: web.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, group_id: groups.body.security_groups[0].id } });
    expect(fromDefault.body.security_group_rule.group).toEqual({ name: 'default', tenant_id: 'project-a' });
    expect((await at('2.1', 'POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: web.id, ip_protocol: 'tcp', from_port: 80, to_port: 80, cidr: '0.0.0.0/0' } })).status).toBe(400);
    expect((await at('2.1', 'POST', '/os-security-group-rules', { security_group_rule: { parent_group_id: web.id, ip_protocol: 'tcp', from_port: 90, to_port: 80 } })).status).toBe(400);
    expect((await at('2.1', 'GET', `/os-security-groups/${web.id}`)).body.security_group.rules).toHaveLength(2);
    expect((await at('2.1', 'GET', `/os-security-groups/${web.id}`, undefined, OTHER)).status).toBe(404);
    expect((await at('2.36', 'GET', '/os-security-groups')).status).toBe(404);
    expect((await at('2.36', 'POST', '/os-security-group-rules', {})).status).toBe(404);

    expect((await cloud.request('POST', '/servers', { server: { name: 'x', imageRef: '1', flavorRef: '1', security_groups: [{ name: 'nope' }] } })).status).toBe(400);
    const server = await bootActive('guarded', { security_groups: [{ name: 'web' }] });
    expect(server.security_groups).toEqual([{ name: 'web' }]);
    expect((await act(server.id, { addSecurityGroup: { name: groups.body.security_groups[0].id } })).status).toBe(202);
    expect((await act(server.id, { addSecurityGroup: { name: 'web' } })).status).toBe(400);
    const attached = await at('2.79', 'GET', `/servers/${server.id}/os-security-groups`);
    expect(attached.body.security_groups.map((g: any) => g.name)).toEqual(['web', 'default']);
    expect((await at('2.1', 'DELETE', `/os-security-groups/${web.id}`)).status).toBe(400);
    expect((await act(server.id, { removeSecurityGroup: { name: 'web' } })).status).toBe(202);
    expect((await cloud.request('GET', `/servers/${server.id}`)).body.server.security_groups).toEqual([{ name: 'default' }]);
    expect((await at('2.1', 'DELETE', `/os-security-groups/${web.id}`)).status).toBe(202);

    // A deleted server no longer holds its groups.
    const temp = (await at('2.1', 'POST', '/os-security-groups', { security_group: { name: 'temp' } })).body.security_group;
    const brief = await bootActive('brief', { security_groups: [{ name: temp.id }] });
    expect((await at('2.1', 'DELETE', `/os-security-groups/${temp.id}`)).status).toBe(400);
    expect((await cloud.request('DELETE', `/servers/${brief.id}`)).status).toBe(204);
    await cloud.waitFor(brief.id, ['DELETED']);
    expect((await at('2.1', 'DELETE', `/os-security-groups/${temp.id}`)).status).toBe(202);
  });

  it('floating IPs: allocated from the pool without doubles, associated, shown in addresses, released; gone from 2.36/2.44', async () => {
    expect((await at('2.1', 'GET', '/os-floating-ip-pools')).body).toEqual({ floating_ip_pools: [{ name: 'public' }] });
    const many = await Promise.all(Array.from({ length: 12 }, () => at('2.1', 'POST', '/os-floating-ips', { pool: 'public' })));
    expect(many.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    const addresses = many.map((answer) => answer.body.floating_ip.ip);
    expect(new Set(addresses).size).toBe(12);
    expect((await at('2.1', 'POST', '/os-floating-ips', { pool: 'nowhere' })).status).toBe(404);
    const floating = many[0]!.body.floating_ip;
    expect(floating).toMatchObject({ pool: 'public', fixed_ip: null, instance_id: null });

    const server = await bootActive('floater');
    expect((await act(server.id, { addFloatingIp: { address: floating.ip } }, USER, '2.44')).status).toBe(404);
    expect((await act(server.id, { addFloatingIp: { address: floating.ip } })).status).toBe(202);
    const shown = (await cloud.request('GET', `/servers/${server.id}`)).body.server;
    expect(shown.addresses.private).toEqual([
      expect.objectContaining({ 'OS-EXT-IPS:type': 'fixed' }),
      expect.objectContaining({ addr: floating.ip, 'OS-EXT-IPS:type': 'floating' }),
    ]);
    expect((await at('2.1', 'GET', `/os-floating-ips/${floating.id}`)).body.floating_ip).toMatchObject({ instance_id: server.id, fixed_ip: shown.addresses.private[0].addr });
    expect((await at('2.1', 'GET', `/os-floating-ips/${floating.id}`, undefined, OTHER)).status).toBe(404);
    expect((await act(server.id, { removeFloatingIp: { address: floating.ip } })).status).toBe(202);
    expect((await act(server.id, { removeFloatingIp: { address: floating.ip } })).status).toBe(409);
    for (const answer of many) expect((await at('2.1', 'DELETE', `/os-floating-ips/${answer.body.floating_ip.id}`)).status).toBe(202);
    expect((await at('2.1', 'GET', '/os-floating-ips')).body.floating_ips).toEqual([]);
    expect((await at('2.36', 'GET', '/os-floating-ips')).status).toBe(404);
    expect((await at('2.36', 'GET', '/os-floating-ip-pools')).status).toBe(404);
  });

  it('interfaces: attach by network (a given address too), list, detach frees the address', async () => {
    const server = await bootActive('nics');
    const listed = (await cloud.request('GET', `/servers/${server.id}/os-interface`)).body.interfaceAttachments;
    expect(listed).toHaveLength(1);
    const netId = listed[0].net_id;
    const attached = await cloud.request('POST', `/servers/${server.id}/os-interface`, { interfaceAttachment: { net_id: netId, fixed_ips: [{ ip_address: '10.0.0.200' }] } });
    expect(attached.status).toBe(200);
    expect(attached.body.interfaceAttachment).toMatchObject({ net_id: netId, port_state: 'ACTIVE', fixed_ips: [{ ip_address: '10.0.0.200' }] });
    expect((await cloud.request('POST', `/servers/${server.id}/os-interface`, { interfaceAttachment: { fixed_ips: [{ ip_address: '10.0.0.200' }] } })).status).toBe(400);
    expect((await cloud.request('POST', `/servers/${server.id}/os-interface`, { interfaceAttachment: { port_id: listed[0].port_id } })).status).toBe(409);
    const port = attached.body.interfaceAttachment.port_id;
    expect((await cloud.request('GET', `/servers/${server.id}`)).body.server.addresses.private.map((a: any) => a.addr)).toContain('10.0.0.200');
    expect((await cloud.request('DELETE', `/servers/${server.id}/os-interface/${port}`)).status).toBe(202);
    expect((await cloud.request('DELETE', `/servers/${server.id}/os-interface/${port}`)).status).toBe(404);
    expect((await cloud.request('GET', `/servers/${server.id}/os-interface`)).body.interfaceAttachments).toHaveLength(1);
    const again = await cloud.request('POST', `/servers/${server.id}/os-interface`, { interfaceAttachment: { fixed_ips: [{ ip_address: '10.0.0.200' }] } });
    expect(again.status).toBe(200);
  });

  it('lock refuses non-admin actions with 409; fields by microversion; unlock; reset state is admin-only', async () => {
    const server = await bootActive('lockable');
    expect((await act(server.id, { lock: { locked_reason: 'maintenance' } })).status).toBe(400);
    expect((await act(server.id, { lock: { locked_reason: 'maintenance' } }, USER, '2.73')).status).toBe(202);
    const at273 = (await at('2.73', 'GET', `/servers/${server.id}`)).body.server;
    expect(at273).toMatchObject({ locked: true, locked_reason: 'maintenance' });
    expect((await at('2.9', 'GET', `/servers/${server.id}`)).body.server).not.toHaveProperty('locked_reason');
    expect((await at('2.1', 'GET', `/servers/${server.id}`)).body.server).not.toHaveProperty('locked');
    expect((await act(server.id, { 'os-stop': null })).status).toBe(409);
    expect((await cloud.request('DELETE', `/servers/${server.id}`)).status).toBe(409);
    expect((await act(server.id, { unlock: null })).status).toBe(202);
    expect((await act(server.id, { 'os-stop': null })).status).toBe(202);
    await cloud.waitFor(server.id, ['SHUTOFF']);

    expect((await act(server.id, { 'os-resetState': { state: 'error' } })).status).toBe(403);
    expect((await act(server.id, { 'os-resetState': { state: 'error' } }, ADMIN)).status).toBe(202);
    expect((await cloud.request('GET', `/servers/${server.id}`)).body.server.status).toBe('ERROR');
    expect((await act(server.id, { 'os-resetState': { state: 'active' } }, ADMIN)).status).toBe(202);
    expect((await cloud.request('GET', `/servers/${server.id}`)).body.server.status).toBe('ACTIVE');

    const actions = (await at('2.58', 'GET', `/servers/${server.id}/os-instance-actions`)).body.instanceActions;
    expect(actions.map((a: any) => a.action)).toEqual(['resetState', 'resetState', 'stop', 'unlock', 'lock', 'create']);
    expect(actions[0]).toHaveProperty('updated_at');
    const page = await at('2.58', 'GET', `/servers/${server.id}/os-instance-actions?limit=2`);
    expect(page.body.instanceActions).toHaveLength(2);
    expect(page.body.links[0].href).toContain(`marker=${actions[1].request_id}`);
    const create = (await cloud.request('GET', `/servers/${server.id}/os-instance-actions/${actions.at(-1).request_id}`)).body.instanceAction;
    expect(create).toMatchObject({ action: 'create', instance_uuid: server.id });
    expect(Array.isArray(create.events)).toBe(true);
  });

  it('server fields by microversion: the flavor embedded with its extra specs from 2.47, description from 2.19', async () => {
    expect((await at('2.1', 'POST', '/flavors/1/os-extra_specs', { extra_specs: { 'hw:cpu_policy': 'shared' } }, ADMIN)).status).toBe(200);
    const server = await bootActive('described');
    expect((await at('2.1', 'PUT', `/servers/${server.id}`, { server: { description: 'db primary' } })).status).toBe(400);
    expect((await at('2.19', 'PUT', `/servers/${server.id}`, { server: { description: 'db primary' } })).body.server.description).toBe('db primary');
    const at247 = (await at('2.47', 'GET', `/servers/${server.id}`)).body.server;
    expect(at247.flavor).toEqual({ original_name: 'm1.tiny', vcpus: 1, ram: 512, disk: 1, ephemeral: 0, swap: 0, extra_specs: { 'hw:cpu_policy': 'shared' } });
    expect((await at('2.46', 'GET', `/servers/${server.id}`)).body.server.flavor).toMatchObject({ id: '1' });
  });

  it('tags from 2.26: boot with tags (2.52), add, check, replace, remove, clear; shown in the server', async () => {
    expect((await cloud.request('POST', '/servers', { server: { name: 'x', imageRef: '1', flavorRef: '1', tags: ['a'] } })).status).toBe(400);
    const created = await at('2.52', 'POST', '/servers', { server: { name: 'tagged', imageRef: '928e2889-6359-40ef-b44c-0aa0b7394be1', flavorRef: '1', tags: ['db', 'prod'] } });
    expect(created.status).toBe(202);
    const id = created.body.server.id;
    expect((await at('2.25', 'GET', `/servers/${id}/tags`)).status).toBe(404);
    expect((await at('2.26', 'GET', `/servers/${id}/tags`)).body).toEqual({ tags: ['db', 'prod'] });
    expect((await at('2.26', 'PUT', `/servers/${id}/tags/blue`)).status).toBe(201);
    expect((await at('2.26', 'PUT', `/servers/${id}/tags/blue`)).status).toBe(204);
    expect((await at('2.26', 'GET', `/servers/${id}/tags/blue`)).status).toBe(204);
    expect((await at('2.26', 'GET', `/servers/${id}/tags/red`)).status).toBe(404);
    expect((await at('2.26', 'PUT', `/servers/${id}/tags/a,b`)).status).toBe(400);
    expect((await at('2.26', 'GET', `/servers/${id}`)).body.server.tags).toEqual(['blue', 'db', 'prod']);
    expect((await at('2.26', 'GET', `/servers/${id}/tags`, undefined, OTHER)).status).toBe(404);
    expect((await at('2.26', 'PUT', `/servers/${id}/tags`, { tags: ['only'] })).body).toEqual({ tags: ['only'] });
    expect((await at('2.26', 'DELETE', `/servers/${id}/tags/only`)).status).toBe(204);
    expect((await at('2.26', 'DELETE', `/servers/${id}/tags/only`)).status).toBe(404);
    expect((await at('2.26', 'PUT', `/servers/${id}/tags`, { tags: ['x', 'y'] })).status).toBe(200);
    expect((await at('2.26', 'DELETE', `/servers/${id}/tags`)).status).toBe(204);
    expect((await at('2.26', 'GET', `/servers/${id}/tags`)).body).toEqual({ tags: [] });
  });

  it('diagnostics for admins: the 2.48 standardized form and the older free form', async () => {
    const server = await bootActive('diag');
    expect((await at('2.48', 'GET', `/servers/${server.id}/diagnostics`)).status).toBe(403);
    const standard = (await at('2.48', 'GET', `/servers/${server.id}/diagnostics`, undefined, ADMIN)).body;
    expect(standard).toMatchObject({ state: 'running', driver: 'fake', num_cpus: 1, num_nics: 1, num_disks: 1, config_drive: false });
    expect(standard.nic_details[0].mac_address).toBe(server.addresses.private[0]['OS-EXT-IPS-MAC:mac_addr']);
    const legacy = (await at('2.1', 'GET', `/servers/${server.id}/diagnostics`, undefined, ADMIN)).body;
    expect(legacy).toHaveProperty('cpu0_time');
    expect(legacy).toHaveProperty('memory', 512 * 1024);
  });

  it('live migration (admin): the server moves to the other host while ACTIVE, keeping addresses and console', async () => {
    const server = await bootActive('mover');
    const source = (await cloud.request('GET', `/servers/${server.id}`, undefined, ADMIN)).body.server['OS-EXT-SRV-ATTR:host'];
    const before = (await act(server.id, { 'os-getConsoleOutput': {} })).body.output;
    const used = async () => Object.fromEntries((await cloud.request('GET', '/os-hypervisors/detail', undefined, ADMIN)).body.hypervisors.map((h: any) => [h.hypervisor_hostname, h.memory_mb_used]));
    const usedBefore = await used();
    expect((await act(server.id, { 'os-migrateLive': { host: null, block_migration: 'auto' } }, USER, '2.25')).status).toBe(403);
    expect((await act(server.id, { 'os-migrateLive': { host: source, block_migration: 'auto' } }, ADMIN, '2.25')).status).toBe(400);
    expect((await act(server.id, { 'os-migrateLive': { host: null, block_migration: 'auto' } }, ADMIN, '2.25')).status).toBe(202);
    const moved = await cloud.waitFor(server.id, ['ACTIVE'], ADMIN);
    expect(moved['OS-EXT-SRV-ATTR:host']).not.toBe(source);
    expect(moved.addresses).toEqual(server.addresses);
    const usedAfter = await used();
    expect(usedAfter[source]).toBe(usedBefore[source] - 512);
    expect(usedAfter[moved['OS-EXT-SRV-ATTR:host']]).toBe(usedBefore[moved['OS-EXT-SRV-ATTR:host']] + 512);
    expect((await act(server.id, { 'os-getConsoleOutput': {} })).body.output).toContain(before);
    const actions = (await cloud.request('GET', `/servers/${server.id}/os-instance-actions`)).body.instanceActions;
    expect(actions[0].action).toBe('live-migration');
  });

  it('evacuate: refused while the source compute is up; after it dies the server is rebuilt elsewhere with its id, address, metadata and key', async () => {
    await at('2.2', 'POST', '/os-keypairs', { keypair: { name: 'evackey' } });
    const server = await bootActive('evacuee', { key_name: 'evackey', metadata: { role: 'db' } });
    const source = (await cloud.request('GET', `/servers/${server.id}`, undefined, ADMIN)).body.server['OS-EXT-SRV-ATTR:host'];
    expect((await act(server.id, { evacuate: {} }, USER, '2.14')).status).toBe(403);
    const refused = await act(server.id, { evacuate: {} }, ADMIN, '2.14');
    expect(refused.status).toBe(400);
    expect(refused.body.badRequest.message).toContain(`Compute service of ${source} is still in use`);

    const service = cloud.runtime.services.find((s) => s.manager === cloud.runtime.computes.get(source));
    await service!.stop();
    const deadline = Date.now() + 15_000;
    let answer: Answer | undefined;
    while (Date.now() < deadline) {
      answer = await act(server.id, { evacuate: { onSharedStorage: false } }, ADMIN, '2.1');
      if (answer.status !== 400) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(answer!.status).toBe(200);
    expect(typeof answer!.body.adminPass).toBe('string');
    const moved = await cloud.waitFor(server.id, ['ACTIVE'], ADMIN);
    expect(moved['OS-EXT-SRV-ATTR:host']).not.toBe(source);
    expect(moved.id).toBe(server.id);
    expect(moved.addresses).toEqual(server.addresses);
    expect(moved.metadata).toEqual({ role: 'db' });
    expect(moved.key_name).toBe('evackey');
    expect((await act(server.id, { 'os-getConsoleOutput': {} })).body.output).toContain('evacuee login:');
  });
});
