/**
 * The `openstack` CLI (python3-openstackclient) against the novarpc Compute API, with
 * the settings the README gives: keystoneauth's `admin_token` plugin, `--os-token
 * user:project` and `--os-endpoint`. It boots, lists, reboots and deletes a server, an
 * admin lists the services, and `--os-auth-type none` lands in project "notused", as
 * the README warns. The cloud is the services tests' one (memory bus, SQLite).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type TestCloud } from '../services/support.js';

const run = promisify(execFile);
const OPENSTACK = 'openstack';
const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

/** The README's way to authenticate, with a token and the endpoint. */
function adminToken(token: string, endpoint: string): string[] {
  return ['--os-auth-type', 'admin_token', '--os-token', token, '--os-endpoint', endpoint];
}

describe('openstack CLI → novarpc Compute API', () => {
  let cloud: TestCloud;
  let openstack: (args: string[]) => Promise<string>;

  beforeAll(async () => {
    await run(OPENSTACK, ['--version'], { timeout: 60_000 }).catch((error: unknown) => {
      throw new Error(`this test needs the openstack CLI: apt-get install python3-openstackclient (${String(error)})`);
    });
    cloud = await startCloud();
    openstack = async (args) => (await run(OPENSTACK, args, { timeout: 120_000 })).stdout;
  }, 90_000);

  afterAll(async () => {
    await cloud?.stop();
  });

  it('the README gives these settings', () => {
    expect(README).toContain('--os-auth-type admin_token --os-token demo:demo --os-endpoint $E server create');
    expect(README).toContain('--os-auth-type none');
  });

  it('boots, lists, reboots and deletes a server with admin_token; an admin lists the services', async () => {
    const user = adminToken('demo:demo', cloud.endpoint);
    const created = JSON.parse(
      await openstack([...user, 'server', 'create', '--flavor', '1', '--image', 'cirros-0.6.2-x86_64-disk', '--wait', 'web-1', '-f', 'json']),
    );
    expect(created).toMatchObject({ name: 'web-1', status: 'ACTIVE', project_id: 'demo' });
    expect(JSON.stringify(created.addresses)).toMatch(/10\.0\.0\.\d+/);

    const listed = JSON.parse(await openstack([...user, 'server', 'list', '-f', 'json']));
    expect(listed).toEqual([expect.objectContaining({ ID: created.id, Name: 'web-1', Status: 'ACTIVE' })]);

    await openstack([...user, 'server', 'reboot', '--wait', 'web-1']);
    expect(JSON.parse(await openstack([...user, 'server', 'show', 'web-1', '-f', 'json']))).toMatchObject({ status: 'ACTIVE' });

    await openstack([...user, 'server', 'delete', '--wait', 'web-1']);
    expect(JSON.parse(await openstack([...user, 'server', 'list', '-f', 'json']))).toEqual([]);

    const services = JSON.parse(await openstack([...adminToken('admin:demo', cloud.endpoint), 'compute', 'service', 'list', '-f', 'json']));
    expect(services).toContainEqual(expect.objectContaining({ Binary: 'nova-compute', Host: 'c1', State: 'up' }));
  }, 240_000);

  it('--os-auth-type none sends the token "notused": the server lands in project "notused"', async () => {
    const created = JSON.parse(
      await openstack(['--os-auth-type', 'none', '--os-endpoint', cloud.endpoint, 'server', 'create', '--flavor', '1', '--image', 'cirros-0.6.2-x86_64-disk', 'lost-1', '-f', 'json']),
    );
    expect(created.project_id).toBe('notused');
    const mine = await cloud.request('GET', '/servers', undefined, 'demo:demo');
    expect(mine.body.servers.map((server: { name: string }) => server.name)).not.toContain('lost-1');
  }, 120_000);
});
