/**
 * The resources around servers through the clients users already have, against
 * `novarpc all` (plus one more compute) on RabbitMQ + MariaDB with keystone auth:
 * python-novaclient at 2.1 and 2.79 in a keystoneauth1 v3 session (keypairs, console,
 * diagnostics, interfaces, security groups, tags, instance actions, lock, stop/start,
 * reset_state, evacuate),
 * openstackclient and the nova CLI with the OS_* password environment, and raw HTTP for
 * the proxies modern clients dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEEDED_NETWORK } from '../../src/db/index.js';
import { MAX_MICROVERSION } from '../../src/services/api/microversion.js';
import { startKeystoneCloud, type KeystoneCloud } from '../support/keystone-cloud.js';
import { NOVA_CLI, OPENSTACK_CLI, requireCli, runCli } from '../support/openstack-cli.js';
import { PeerGroup, PythonPeer, requirePythonPeers, type PeerLine } from './peers.js';

const STEPS = ['keypairs', 'boot', 'console', 'diagnostics', 'interfaces', 'security_groups', 'tags', 'actions', 'lock', 'stop_start', 'reset_state', 'evacuate', 'delete', 'done'];
const EXTRA_COMPUTE = 'evac-b';
const IMAGE_NAME = 'cirros-0.6.2-x86_64-disk';

describe('OpenStack clients → server resources of novarpc all (keystone)', () => {
  const peers = new PeerGroup();
  let cloud: KeystoneCloud;
  const tokens: Record<string, string> = {};
  /** Servers on the extra compute, which is stopped and forced down for evacuation. */
  const evacuees: string[] = [];
  const http = (method: string, path: string, token: string, body?: unknown, mv = '2.1') =>
    cloud.request(method, `/v2.1${path}`, { token, body, headers: { 'openstack-api-version': `compute ${mv}` } });
  const waitStatus = async (id: string, status: string, token = tokens.alice!) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const server = (await http('GET', `/servers/${id}`, token)).body?.server;
      if (server?.status === status && !server['OS-EXT-STS:task_state']) return server;
      if (Date.now() > deadline) throw new Error(`server ${id} not ${status}: ${JSON.stringify(server)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  beforeAll(async () => {
    await requirePythonPeers();
    await requireCli(OPENSTACK_CLI, 'python3-openstackclient');
    await requireCli(NOVA_CLI, 'python3-novaclient');
    cloud = await startKeystoneCloud({ extraComputes: [EXTRA_COMPUTE] });
    for (const name of ['admin', 'alice', 'bob'] as const) tokens[name] = await cloud.token(cloud.users[name]);
    await placeEvacuees();
  }, 180_000);
  afterAll(async () => {
    await peers.stopAll();
    await cloud?.stop();
  });

  /** Boots two servers on the extra compute (the main one disabled meanwhile), then stops it and forces it down. */
  async function placeEvacuees(): Promise<void> {
    const admin = tokens.admin!;
    const deadline = Date.now() + 60_000;
    while (!((await http('GET', `/os-services?host=${EXTRA_COMPUTE}`, admin)).body?.services ?? []).some((s: any) => s.state === 'up')) {
      if (Date.now() > deadline) throw new Error('extra compute not up');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const service = { host: cloud.host, binary: 'nova-compute' };
    expect((await http('PUT', '/os-services/disable', admin, service)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const name of ['evacuee-1', 'evacuee-2']) {
      const answer = await http('POST', '/servers', tokens.alice!, { server: { name, imageRef: '928e2889-6359-40ef-b44c-0aa0b7394be1', flavorRef: '1' } });
      expect(answer.status).toBe(202);
      evacuees.push(answer.body.server.id);
    }
    for (const id of evacuees) expect((await waitStatus(id, 'ACTIVE', admin))['OS-EXT-SRV-ATTR:host']).toBe(EXTRA_COMPUTE);
    expect((await http('PUT', '/os-services/enable', admin, service)).status).toBe(200);
    await cloud.workers.find((worker) => worker.name === `compute-${EXTRA_COMPUTE}`)!.stop();
    const forced = await http('PUT', '/os-services/force-down', admin, { host: EXTRA_COMPUTE, binary: 'nova-compute', forced_down: true }, '2.11');
    expect(forced.status).toBe(200);
  }

  for (const [index, microversion] of ['2.1', MAX_MICROVERSION].entries()) {
    it(`python-novaclient ${microversion} in a keystoneauth1 v3 session: every server step passes`, async () => {
      const { admin, alice } = cloud.users;
      const group = `web-${index}`;
      expect((await http('POST', '/os-security-groups', tokens.alice!, { security_group: { name: group, description: 'interop' } })).status).toBe(200);
      const flow = await PythonPeer.start(peers, 'py_server_resources.py', [
        '--auth-url', cloud.authUrl, '--admin-user', admin.name, '--admin-password', admin.password, '--admin-project', admin.project,
        '--user', alice.name, '--password', alice.password, '--project', alice.project, '--microversion', microversion,
        '--group', group, '--network', SEEDED_NETWORK.uuid, '--evacuee', evacuees[index]!,
      ], { waitReady: false });
      await flow.exited;
      const failed = flow.lines.filter((line) => line.ok !== true);
      expect(failed, `failed steps:\n${failed.map(summarize).join('\n')}\nstderr:\n${flow.stderr.slice(-3000)}`).toEqual([]);
      expect(flow.lines.map((line) => line.step)).toEqual(STEPS);
      expect(flow.lines.find((line) => line.step === 'lock')).toMatchObject({ stop_refused: 409 });
      expect(flow.lines.find((line) => line.step === 'evacuate')).toMatchObject({ from: EXTRA_COMPUTE, to: cloud.host });
    }, 240_000);
  }

  it('openstackclient: keypair, server create --key-name --security-group --wait, console log, groups, stop/start, delete --wait', async () => {
    const openstack = cliAs(OPENSTACK_CLI, cloud.env(cloud.users.alice));
    expect((await http('POST', '/os-security-groups', tokens.alice!, { security_group: { name: 'osc', description: 'cli' } })).status).toBe(200);
    const key = (await openstack('keypair', 'create', 'osc-key')).stdout;
    expect(key).toContain('-----BEGIN RSA PRIVATE KEY-----');
    expect((await openstack('keypair', 'list', '-f', 'json')).json.map((k: any) => k.Name)).toContain('osc-key');
    const created = (await openstack('server', 'create', '--image', IMAGE_NAME, '--flavor', 'm1.tiny', '--key-name', 'osc-key', '--security-group', 'osc', '--wait', '-f', 'json', 'osc-vm')).json;
    expect(created.status).toBe('ACTIVE');
    const shown = (await openstack('server', 'show', 'osc-vm', '-f', 'json')).json;
    expect(shown.key_name).toBe('osc-key');
    expect(JSON.stringify(shown.security_groups)).toContain('osc');
    expect((await openstack('console', 'log', 'show', 'osc-vm')).stdout).toContain('osc-vm login:');
    await openstack('server', 'add', 'security', 'group', 'osc-vm', 'default');
    expect((await http('GET', `/servers/${shown.id}/os-security-groups`, tokens.alice!)).body.security_groups.map((g: any) => g.name).sort()).toEqual(['default', 'osc']);
    await openstack('server', 'remove', 'security', 'group', 'osc-vm', 'default');
    expect((await http('GET', `/servers/${shown.id}/os-security-groups`, tokens.alice!)).body.security_groups.map((g: any) => g.name)).toEqual(['osc']);
    await openstack('server', 'stop', 'osc-vm');
    await waitStatus(shown.id, 'SHUTOFF');
    await openstack('server', 'start', 'osc-vm');
    await waitStatus(shown.id, 'ACTIVE');
    await openstack('server', 'delete', '--wait', 'osc-vm');
    expect((await http('GET', `/servers/${shown.id}`, tokens.alice!)).status).toBe(404);
    await openstack('keypair', 'delete', 'osc-key');
    expect((await http('GET', '/os-keypairs/osc-key', tokens.alice!)).status).toBe(404);
  }, 300_000);

  it('the nova CLI with the password environment: list, boot --poll, console-log, delete', async () => {
    const cli = cliAs(NOVA_CLI, cloud.env(cloud.users.alice));
    const nova = async (...args: string[]) => (await cli(...args)).stdout;
    await nova('list');
    expect(await nova('boot', '--poll', '--image', IMAGE_NAME, '--flavor', 'm1.tiny', 'nova-vm')).toMatch(/100% complete|Finished/);
    expect(await nova('list')).toMatch(/nova-vm\s*\|\s*ACTIVE/);
    expect(await nova('console-log', 'nova-vm')).toContain('nova-vm login:');
    await nova('delete', 'nova-vm');
  }, 180_000);

  it('raw HTTP: the security-group and floating-IP proxies at 2.1, 404 from 2.36; another project sees nothing', async () => {
    const alice = tokens.alice!;
    const group = (await http('POST', '/os-security-groups', alice, { security_group: { name: 'raw', description: 'raw' } })).body.security_group;
    const rule = await http('POST', '/os-security-group-rules', alice, { security_group_rule: { parent_group_id: group.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.0.0.0/8' } });
    expect(rule.status).toBe(200);
    expect((await http('GET', `/os-security-groups/${group.id}`, alice)).body.security_group.rules).toHaveLength(1);
    expect((await http('GET', `/os-security-groups/${group.id}`, tokens.bob!)).status).toBe(404);
    expect((await http('GET', '/os-security-groups', alice, undefined, '2.36')).status).toBe(404);
    expect((await http('DELETE', `/os-security-group-rules/${rule.body.security_group_rule.id}`, alice)).status).toBe(202);
    expect((await http('DELETE', `/os-security-groups/${group.id}`, alice)).status).toBe(202);

    const pools = await http('GET', '/os-floating-ip-pools', alice);
    expect(pools.body.floating_ip_pools).toEqual([{ name: 'public' }]);
    const allocations = await Promise.all(Array.from({ length: 8 }, () => http('POST', '/os-floating-ips', alice, { pool: 'public' })));
    const addresses = allocations.map((answer) => answer.body.floating_ip.ip);
    expect(new Set(addresses).size).toBe(8);
    const server = evacuees[0]!;
    await waitStatus(server, 'ACTIVE');
    expect((await http('POST', `/servers/${server}/action`, alice, { addFloatingIp: { address: addresses[0] } })).status).toBe(202);
    const shown = (await http('GET', `/servers/${server}`, alice)).body.server;
    expect(Object.values(shown.addresses).flat()).toContainEqual(expect.objectContaining({ addr: addresses[0], 'OS-EXT-IPS:type': 'floating' }));
    expect((await http('POST', `/servers/${server}/action`, alice, { addFloatingIp: { address: addresses[1] } }, '2.44')).status).toBe(404);
    expect((await http('POST', `/servers/${server}/action`, alice, { removeFloatingIp: { address: addresses[0] } })).status).toBe(202);
    for (const answer of allocations) expect((await http('DELETE', `/os-floating-ips/${answer.body.floating_ip.id}`, alice)).status).toBe(202);
    expect((await http('GET', '/os-floating-ips', alice, undefined, '2.36')).status).toBe(404);
    expect((await http('GET', `/servers/${server}`, tokens.bob!)).status).toBe(404);
    expect((await http('POST', `/servers/${server}/action`, tokens.bob!, { 'os-getConsoleOutput': {} })).status).toBe(404);
  }, 120_000);
});

/** Runs a CLI with an OS_* environment and expects it to succeed. */
function cliAs(binary: string, env: Record<string, string>) {
  return async (...args: string[]) => {
    const result = await runCli(binary, args, env);
    expect(result.code, `${binary} ${args.join(' ')}: ${result.stderr.slice(-2000)}`).toBe(0);
    return result;
  };
}

function summarize(line: PeerLine): string {
  return JSON.stringify(line).slice(0, 800);
}
