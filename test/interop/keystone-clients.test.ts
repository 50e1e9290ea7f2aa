/**
 * The OpenStack clients users already have, against `novarpc all` on RabbitMQ + MariaDB
 * with `auth_strategy = keystone` and a users file (test/support/keystone-cloud.ts):
 * keystoneauth1 + python-novaclient at 2.1 and 2.79 (admin resources, the old
 * Client('2', USER, PASSWORD, PROJECT, AUTH_URL) against /identity/v2.0), openstackclient
 * with the OS_* password environment, and the auth guarantees over raw HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MICROVERSION } from '../../src/services/api/microversion.js';
import { startKeystoneCloud, type KeystoneCloud } from '../support/keystone-cloud.js';
import { OPENSTACK_CLI, requireCli, runCli } from '../support/openstack-cli.js';
import { PeerGroup, PythonPeer, requirePythonPeers, type PeerLine } from './peers.js';

const NOVACLIENT_STEPS = [
  'session', 'flavors', 'flavor_extra_specs', 'services', 'service_disable', 'service_force_down',
  'hypervisors', 'limits', 'quotas', 'availability_zones', 'non_admin', 'legacy_client', 'done',
];

describe('OpenStack clients → novarpc all with keystone auth', () => {
  const peers = new PeerGroup();
  let cloud: KeystoneCloud;

  beforeAll(async () => {
    await requirePythonPeers();
    await requireCli(OPENSTACK_CLI, 'python3-openstackclient');
    cloud = await startKeystoneCloud({ settings: { quota: { instances: 10, cores: 20, ram: 51200 } } });
  }, 120_000);
  afterAll(async () => {
    await peers.stopAll();
    await cloud?.stop();
  });

  for (const microversion of ['2.1', MAX_MICROVERSION]) {
    it(`python-novaclient ${microversion} through a keystoneauth1 v3 session: every admin step passes`, async () => {
      const { admin, alice } = cloud.users;
      const flow = await PythonPeer.start(peers, 'py_keystone_admin.py', [
        '--auth-url', cloud.authUrl, '--admin-user', admin.name, '--admin-password', admin.password,
        '--user', alice.name, '--password', alice.password, '--user-project', alice.project, '--project', admin.project, '--microversion', microversion,
        '--legacy-auth-url', `${cloud.base}/identity/v2.0`,
      ], { waitReady: false });
      await flow.exited;
      const failed = flow.lines.filter((line) => line.ok !== true);
      expect(failed, `failed steps:\n${failed.map(summarize).join('\n')}\nstderr:\n${flow.stderr.slice(-3000)}`).toEqual([]);
      expect(flow.lines.map((line) => line.step)).toEqual(NOVACLIENT_STEPS);
      const services = flow.lines.find((line) => line.step === 'services')!;
      expect(typeof services.id).toBe(microversion === '2.1' ? 'number' : 'string');
      expect(flow.lines.find((line) => line.step === 'non_admin')).toMatchObject({ services_list: 'Forbidden', status_code: 403 });
    }, 180_000);
  }

  it('openstackclient with OS_AUTH_URL/OS_USERNAME/OS_PASSWORD/OS_PROJECT_NAME lists and sets what an admin sees', async () => {
    const env = cloud.env(cloud.users.admin);
    const openstack = async (...args: string[]) => {
      const result = await runCli(OPENSTACK_CLI, args, env);
      expect(result.code, `openstack ${args.join(' ')}: ${result.stderr.slice(-2000)}`).toBe(0);
      return result.json;
    };
    const flavors = await openstack('flavor', 'list', '-f', 'json');
    expect(flavors.map((f: { Name: string }) => f.Name)).toEqual(expect.arrayContaining(['m1.tiny', 'm1.small']));
    const images = await openstack('image', 'list', '-f', 'json');
    expect(images.length).toBeGreaterThan(0);
    expect(images[0]).toMatchObject({ Status: 'active' });
    const services = await openstack('compute', 'service', 'list', '-f', 'json');
    expect(services.find((s: { Binary: string }) => s.Binary === 'nova-compute')).toMatchObject({ Host: cloud.host, Status: 'enabled', State: 'up' });
    await openstack('compute', 'service', 'set', '--disable', '--disable-reason', 'cli maintenance', cloud.host, 'nova-compute');
    const disabled = await openstack('compute', 'service', 'list', '--long', '--service', 'nova-compute', '-f', 'json');
    expect(disabled[0]).toMatchObject({ Status: 'disabled', 'Disabled Reason': 'cli maintenance' });
    await openstack('compute', 'service', 'set', '--enable', cloud.host, 'nova-compute');
    expect((await openstack('compute', 'service', 'list', '--service', 'nova-compute', '-f', 'json'))[0].Status).toBe('enabled');
    const hypervisors = await openstack('hypervisor', 'list', '-f', 'json');
    expect(hypervisors.map((h: { 'Hypervisor Hostname': string }) => h['Hypervisor Hostname'])).toEqual([cloud.host]);
    const hypervisor = await openstack('hypervisor', 'show', cloud.host, '-f', 'json');
    expect(hypervisor).toMatchObject({ hypervisor_hostname: cloud.host, service_host: cloud.host, users: '0', aggregates: [] });
    const limits = await openstack('limits', 'show', '--absolute', '-f', 'json');
    expect(limits.find((l: { Name: string }) => l.Name === 'maxTotalInstances')).toMatchObject({ Value: 10 });
    const zones = await openstack('availability', 'zone', 'list', '--compute', '-f', 'json');
    expect(zones.map((z: { 'Zone Name': string }) => z['Zone Name'])).toContain('nova');
    await openstack('quota', 'set', '--instances', '20', '--cores', '40', 'project-b');
    expect(await openstack('quota', 'show', 'project-b', '-f', 'json')).toMatchObject({ instances: 20, cores: 40, ram: 51200 });
    // A private flavor with a property, shared with project-a (resolved through /identity/v3/projects).
    await openstack('flavor', 'create', '--ram', '256', '--disk', '1', '--vcpus', '1', '--private', '--project', 'project-a', '--property', 'hw:cpu_policy=dedicated', 'tiny.private', '-f', 'json');
    const shown = await openstack('flavor', 'show', 'tiny.private', '-f', 'json');
    expect(shown).toMatchObject({ 'os-flavor-access:is_public': false, access_project_ids: ['project-a'], properties: { 'hw:cpu_policy': 'dedicated' } });
    const asAlice = await runCli(OPENSTACK_CLI, ['flavor', 'list', '-f', 'value', '-c', 'Name'], cloud.env(cloud.users.alice));
    expect(asAlice.stdout.split('\n')).toContain('tiny.private');
    const asBob = await runCli(OPENSTACK_CLI, ['flavor', 'list', '-f', 'value', '-c', 'Name'], cloud.env(cloud.users.bob));
    expect(asBob.code, asBob.stderr).toBe(0);
    expect(asBob.stdout.split('\n')).not.toContain('tiny.private');
    await openstack('flavor', 'delete', 'tiny.private');
  }, 600_000);

  it('openstackclient as a non-admin: flavors and zones work, admin resources are refused', async () => {
    const env = cloud.env(cloud.users.alice);
    const flavors = await runCli(OPENSTACK_CLI, ['flavor', 'list', '-f', 'json'], env);
    expect(flavors.code, flavors.stderr).toBe(0);
    const zones = await runCli(OPENSTACK_CLI, ['availability', 'zone', 'list', '--compute', '-f', 'json'], env);
    expect(zones.code, zones.stderr).toBe(0);
    expect(zones.json.map((z: { 'Zone Name': string }) => z['Zone Name'])).toContain('nova');
    const services = await runCli(OPENSTACK_CLI, ['compute', 'service', 'list'], env);
    expect(services.code).not.toBe(0);
    expect(services.stderr).toMatch(/403|Policy doesn't allow/);
    const badPassword = await runCli(OPENSTACK_CLI, ['flavor', 'list'], { ...env, OS_PASSWORD: 'wrong' });
    expect(badPassword.code).not.toBe(0);
    expect(badPassword.stderr).toMatch(/401|requires authentication/);
    expect(badPassword.stderr).not.toContain(cloud.users.alice.password);
  }, 300_000);

  it('auth holds over raw HTTP: public version documents, 401 without or with a revoked token, 403 for non-admins', async () => {
    for (const path of ['/', '/v2.1', '/identity', '/identity/v3', '/identity/v2.0', '/image']) {
      expect([200, 300], path).toContain((await cloud.request('GET', path)).status);
    }
    expect((await cloud.request('GET', '/v2.1/servers')).status).toBe(401);
    expect((await cloud.request('GET', '/v2.1/servers', { token: 'admin:admin-project' })).status).toBe(401);
    expect((await cloud.request('GET', '/image/v2/images')).status).toBe(401);
    const bad = await cloud.request('POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { name: 'alice', domain: { id: 'default' }, password: 'nope' } } } } },
    });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toMatchObject({ code: 401, title: 'Unauthorized' });
    const alice = await cloud.token(cloud.users.alice);
    expect((await cloud.request('GET', '/v2.1/os-hypervisors', { token: alice })).status).toBe(403);
    expect((await cloud.request('GET', '/v2.1/os-availability-zone/detail', { token: alice })).status).toBe(403);
    expect((await cloud.request('PUT', '/v2.1/os-quota-sets/project-a', { token: alice, body: { quota_set: { instances: 50 } } })).status).toBe(403);
    expect((await cloud.request('GET', '/v2.1/flavors', { token: alice })).status).toBe(200);
    const revoked = await cloud.request('DELETE', '/identity/v3/auth/tokens', { token: alice, headers: { 'x-subject-token': alice } });
    expect(revoked.status).toBe(204);
    expect((await cloud.request('GET', '/v2.1/flavors', { token: alice })).status).toBe(401);
  });
});

describe('token expiry on novarpc all (token_expiration = 15)', () => {
  let cloud: KeystoneCloud;
  beforeAll(async () => {
    cloud = await startKeystoneCloud({ tokenExpiration: 15 });
  }, 120_000);
  afterAll(async () => {
    await cloud?.stop();
  });

  it('accepts a fresh token and refuses it with 401 once expires_at has passed', async () => {
    const login = await cloud.request('POST', '/identity/v3/auth/tokens', {
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'bob', domain: { name: 'Default' }, password: cloud.users.bob.password } } },
          scope: { project: { name: 'project-b', domain: { name: 'Default' } } },
        },
      },
    });
    const token = login.headers.get('x-subject-token')!;
    const expiresAt = Date.parse(login.body.token.expires_at);
    expect(expiresAt - Date.parse(login.body.token.issued_at)).toBe(15_000);
    expect((await cloud.request('GET', '/v2.1/servers', { token })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 500));
    expect((await cloud.request('GET', '/v2.1/servers', { token })).status).toBe(401);
  }, 60_000);
});

function summarize(line: PeerLine): string {
  return JSON.stringify(line).slice(0, 800);
}
