/**
 * The Compute API on the memory bus and SQLite: server actions, metadata, flavors,
 * images, admin resources, and the error mapping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbConnectionError } from '../../src/db/index.js';
import { InvalidArguments, RequestContext, RpcClient, TransportError } from '../../src/rpc/index.js';
import { toFault } from '../../src/services/api/faults.js';
import { ADMIN, IMAGE, OTHER, startCloud, USER, type TestCloud } from './support.js';

describe('Compute API: actions, metadata, catalogue, admin', () => {
  let cloud: TestCloud;
  const action = (id: string, body: unknown, token = USER) => cloud.request('POST', `/servers/${id}/action`, body, token);

  beforeAll(async () => {
    cloud = await startCloud({ fakeDriver: { spawnTimeMs: 5 } });
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  it('server metadata: set, merge, replace, one key, delete', async () => {
    const id = await cloud.boot('meta', { metadata: { a: '1' } });
    expect((await cloud.request('GET', `/servers/${id}/metadata`)).body).toEqual({ metadata: { a: '1' } });
    expect((await cloud.request('POST', `/servers/${id}/metadata`, { metadata: { b: '2' } })).body).toEqual({ metadata: { a: '1', b: '2' } });
    expect((await cloud.request('PUT', `/servers/${id}/metadata`, { metadata: { c: '3' } })).body).toEqual({ metadata: { c: '3' } });
    expect((await cloud.request('PUT', `/servers/${id}/metadata/d`, { meta: { d: '4' } })).body).toEqual({ meta: { d: '4' } });
    expect((await cloud.request('GET', `/servers/${id}/metadata/d`)).body).toEqual({ meta: { d: '4' } });
    expect((await cloud.request('PUT', `/servers/${id}/metadata/d`, { meta: { e: '5' } })).status).toBe(400);
    expect((await cloud.request('DELETE', `/servers/${id}/metadata/d`)).status).toBe(204);
    expect((await cloud.request('GET', `/servers/${id}/metadata/d`)).status).toBe(404);
    expect((await cloud.request('DELETE', `/servers/${id}/metadata/zzz`)).status).toBe(404);
    expect((await cloud.request('PUT', `/servers/${id}/metadata`, { metadata: { x: 'y'.repeat(300) } })).status).toBe(400);
  });

  it('reboot (soft and hard), stop and start walk the states', async () => {
    const id = await cloud.boot('cycler');
    await cloud.waitFor(id, ['ACTIVE']);
    expect((await action(id, { reboot: { type: 'SOFT' } })).status).toBe(202);
    await cloud.waitFor(id, ['ACTIVE']);
    expect((await action(id, { reboot: { type: 'HARD' } })).status).toBe(202);
    await cloud.waitFor(id, ['ACTIVE']);
    expect((await action(id, { 'os-stop': null })).status).toBe(202);
    const stopped = await cloud.waitFor(id, ['SHUTOFF']);
    expect(stopped['OS-EXT-STS:power_state']).toBe(4);
    expect((await action(id, { 'os-stop': null })).status).toBe(409);
    expect((await action(id, { 'os-start': null })).status).toBe(202);
    const started = await cloud.waitFor(id, ['ACTIVE']);
    expect(started['OS-EXT-STS:power_state']).toBe(1);
  });

  it('two actions cannot race: the second is a conflict while the first runs', async () => {
    const id = await cloud.boot('racer');
    await cloud.waitFor(id, ['ACTIVE']);
    const [first, second] = await Promise.all([action(id, { reboot: { type: 'SOFT' } }), action(id, { 'os-stop': null })]);
    expect([first.status, second.status].sort()).toEqual([202, 409]);
    await cloud.waitFor(id, ['ACTIVE', 'SHUTOFF']);
  });

  it('rebuild keeps the id and address and takes the new image and name', async () => {
    const id = await cloud.boot('rebuild-me');
    const before = await cloud.waitFor(id, ['ACTIVE']);
    const other = 'aaa66cd3-3af4-4f09-ade9-19829571744c';
    const answer = await action(id, { rebuild: { imageRef: other, name: 'rebuilt' } });
    expect(answer.status).toBe(202);
    expect(answer.body.server.status).toBe('REBUILD');
    const after = await cloud.waitFor(id, ['ACTIVE']);
    expect(after).toMatchObject({ name: 'rebuilt', image: { id: other } });
    expect(after.addresses).toEqual(before.addresses);
  });

  it('resize then confirm keeps the new flavor; resize then revert restores the old one', async () => {
    const id = await cloud.boot('grower');
    await cloud.waitFor(id, ['ACTIVE']);
    expect((await action(id, { resize: { flavorRef: '1' } })).status).toBe(400);
    expect((await action(id, { resize: { flavorRef: '2' } })).status).toBe(202);
    expect((await cloud.waitFor(id, ['VERIFY_RESIZE'])).flavor.id).toBe('2');
    expect((await action(id, { confirmResize: null })).status).toBe(204);
    expect((await cloud.waitFor(id, ['ACTIVE'])).flavor.id).toBe('2');

    expect((await action(id, { resize: { flavorRef: '3' } })).status).toBe(202);
    await cloud.waitFor(id, ['VERIFY_RESIZE']);
    expect((await action(id, { revertResize: null })).status).toBe(202);
    expect((await cloud.waitFor(id, ['ACTIVE'])).flavor.id).toBe('2');
    const nodes = await cloud.runtime.db.computeNodes.list({ isAdmin: true });
    expect(nodes.every((node) => node.memory_mb_used >= 0)).toBe(true);
  });

  it('changePassword and createImage run on the compute and return to no task', async () => {
    const id = await cloud.boot('snap');
    await cloud.waitFor(id, ['ACTIVE']);
    expect((await action(id, { changePassword: { adminPass: 's3cret' } })).status).toBe(202);
    await cloud.waitFor(id, ['ACTIVE']);
    const created = await action(id, { createImage: { name: 'snap-image', metadata: { kind: 'backup' } } });
    expect(created.status).toBe(202);
    const location = created.headers.get('location')!;
    const imageId = location.split('/').pop()!;
    await cloud.waitFor(id, ['ACTIVE']);
    const image = await cloud.request('GET', `/images/${imageId}`);
    expect(image.body.image).toMatchObject({ name: 'snap-image', status: 'ACTIVE', metadata: { kind: 'backup', instance_uuid: id } });
    expect((await cloud.request('GET', `/images/${imageId}`, undefined, OTHER)).status).toBe(404);
    expect(cloud.logs.lines.some((line) => JSON.stringify(line).includes('s3cret'))).toBe(false);
  });

  it('changePassword and rebuild set the guest\'s administrator password (a login on the guest takes it); the console says so, never the password', async () => {
    const id = await cloud.boot('guest-login');
    await cloud.waitFor(id, ['ACTIVE']);
    const { host } = await cloud.runtime.db.instances.get({ isAdmin: true }, id);
    const driver = () => cloud.runtime.computes.get(host!)!.driver;
    expect(driver().acceptsAdminPassword(id, 'n3w-pass')).toBe(false);
    expect((await action(id, { changePassword: { adminPass: 'n3w-pass' } })).status).toBe(202);
    await cloud.waitFor(id, ['ACTIVE']);
    expect(driver().acceptsAdminPassword(id, 'n3w-pass')).toBe(true);
    expect(driver().acceptsAdminPassword(id, 'wrong')).toBe(false);
    const console = await action(id, { 'os-getConsoleOutput': { length: 5 } });
    expect(console.body.output).toContain('administrator password set');
    expect(console.body.output).not.toContain('n3w-pass');

    const other = 'aaa66cd3-3af4-4f09-ade9-19829571744c';
    const rebuilt = await action(id, { rebuild: { imageRef: other, adminPass: 'rebu1lt-pass' } });
    expect(rebuilt.body.server.adminPass).toBe('rebu1lt-pass');
    await cloud.waitFor(id, ['ACTIVE']);
    expect(driver().imageOf(id)).toBe(other);
    expect(driver().acceptsAdminPassword(id, 'rebu1lt-pass')).toBe(true);
    expect(driver().acceptsAdminPassword(id, 'n3w-pass')).toBe(false);

    // Without adminPass, Nova generates one, answers it once, and the guest takes it.
    const generated = await action(id, { rebuild: { imageRef: other } });
    const password: string = generated.body.server.adminPass;
    expect(password).toMatch(/^[A-Za-z0-9]{12}$/);
    await cloud.waitFor(id, ['ACTIVE']);
    expect(driver().acceptsAdminPassword(id, password)).toBe(true);
    const logged = cloud.logs.lines.map((line) => JSON.stringify(line)).join('\n');
    for (const secret of ['n3w-pass', 'rebu1lt-pass', password]) expect(logged).not.toContain(secret);
    // Leave the hosts' load as the later tests expect it.
    expect((await cloud.request('DELETE', `/servers/${id}`)).status).toBe(204);
    await cloud.waitFor(id, ['DELETED']);
  });

  it('createImage: the compute uploads into the image the API registered (SAVING, then ACTIVE with the disk\'s size)', async () => {
    const id = await cloud.boot('uploader');
    await cloud.waitFor(id, ['ACTIVE']);
    const created = await action(id, { createImage: { name: 'uploaded' } });
    const imageId = created.headers.get('location')!.split('/').pop()!;
    const early = await cloud.runtime.db.images.get({ isAdmin: true }, imageId);
    expect(['queued', 'saving', 'active']).toContain(early.status);
    await cloud.waitFor(id, ['ACTIVE']);
    const image = await cloud.request('GET', `/images/${imageId}`);
    expect(image.body.image).toMatchObject({ status: 'ACTIVE', progress: 100, 'OS-EXT-IMG-SIZE:size': 1024 ** 3 });
    expect((await cloud.request('DELETE', `/servers/${id}`)).status).toBe(204);
    await cloud.waitFor(id, ['DELETED']);
  });

  it('refuses unknown actions and bad action bodies with badRequest', async () => {
    const id = await cloud.boot('picky');
    expect((await action(id, { explode: {} })).body.badRequest.message).toContain('explode');
    expect((await action(id, { reboot: { type: 'GENTLE' } })).body.badRequest.message).toContain('reboot.type');
    expect((await action(id, { reboot: {}, 'os-stop': null })).status).toBe(400);
  });

  it('flavors and images: list, detail, show; image metadata CRUD', async () => {
    const flavors = await cloud.request('GET', '/flavors/detail?minRam=2048');
    expect(flavors.body.flavors.map((f: { name: string }) => f.name)).toEqual(['m1.small', 'm1.medium', 'm1.large', 'm1.xlarge']);
    expect((await cloud.request('GET', '/flavors/1')).body.flavor).toMatchObject({ id: '1', name: 'm1.tiny', ram: 512, vcpus: 1, disk: 1 });
    expect((await cloud.request('GET', '/flavors/42')).status).toBe(404);
    const images = await cloud.request('GET', '/images/detail');
    expect(images.body.images.find((i: { id: string }) => i.id === IMAGE)).toMatchObject({ status: 'ACTIVE', metadata: { os_distro: 'cirros' } });
    const created = await cloud.runtime.db.images.create({ projectId: 'project-a' }, { name: 'mine' });
    const path = `/images/${created.uuid}/metadata`;
    expect((await cloud.request('POST', path, { metadata: { a: '1' } })).body.metadata).toEqual({ a: '1' });
    expect((await cloud.request('PUT', `${path}/b`, { meta: { b: '2' } })).body).toEqual({ meta: { b: '2' } });
    expect((await cloud.request('PUT', path, { metadata: { c: '3' } })).body.metadata).toEqual({ c: '3' });
    expect((await cloud.request('DELETE', `${path}/c`)).status).toBe(204);
    expect((await cloud.request('POST', `/images/${IMAGE}/metadata`, { metadata: { a: '1' } })).status).toBe(403);
  });

  it('os-services and os-hypervisors are for admins', async () => {
    expect((await cloud.request('GET', '/os-services')).status).toBe(403);
    const services = await cloud.request('GET', '/os-services', undefined, ADMIN);
    const binaries = services.body.services.map((s: { binary: string; host: string }) => `${s.binary}@${s.host}`);
    expect(binaries).toEqual(expect.arrayContaining(['nova-compute@c1', 'nova-compute@c2', 'nova-scheduler@' + cloud.runtime.config.host]));
    expect(services.body.services.every((s: { state: string }) => s.state === 'up')).toBe(true);
    const hypervisors = await cloud.request('GET', '/os-hypervisors/detail', undefined, ADMIN);
    expect(hypervisors.body.hypervisors.map((h: { hypervisor_hostname: string }) => h.hypervisor_hostname).sort()).toEqual(['c1', 'c2']);
    const one = await cloud.request('GET', `/os-hypervisors/${hypervisors.body.hypervisors[0].id}`, undefined, ADMIN);
    expect(one.body.hypervisor.memory_mb).toBe(800000);
    const disabled = await cloud.request('PUT', '/os-services/disable', { host: 'c1', binary: 'nova-compute', disabled_reason: 'maintenance' }, ADMIN);
    expect(disabled.body.service.status).toBe('disabled');
    const id = await cloud.boot('avoids-c1');
    const server = await cloud.waitFor(id, ['ACTIVE'], ADMIN);
    expect(server['OS-EXT-SRV-ATTR:host']).toBe('c2');
    await cloud.request('PUT', '/os-services/enable', { host: 'c1', binary: 'nova-compute' }, ADMIN);
  });

  it('workers answer wrong RPC arguments with InvalidArguments and keep working', async () => {
    const ctx = new RequestContext({ isAdmin: true });
    const network = new RpcClient(cloud.runtime.transport, { topic: 'network', version: '1.0' });
    await expect(network.call(ctx, 'allocate_for_instance', { instance_id: 17 })).rejects.toBeInstanceOf(InvalidArguments);
    await expect(network.call(ctx, 'allocate_for_instance', {})).rejects.toThrow(/instance_id/);
    const compute = new RpcClient(cloud.runtime.transport, { topic: 'compute', server: 'c1', version: '1.0' });
    await compute.cast(ctx, 'run_instance', { instance_id: 'x', request_spec: 'garbage' });
    const id = await cloud.boot('still-works');
    await cloud.waitFor(id, ['ACTIVE']);
  });

  it('maps database and bus outages to 503 with a clear message', () => {
    const db = toFault(new DbConnectionError('database nova on db:3306', 'Cannot connect to database nova on db:3306'));
    expect(db).toMatchObject({ status: 503, unexpected: false });
    expect(db.message).toContain('database is unavailable');
    expect(toFault(new TransportError('connection lost')).status).toBe(503);
    expect(toFault(new Error('boom'))).toMatchObject({ status: 500, unexpected: true });
  });
});
