/**
 * python-novaclient against the novarpc Compute API: py_novaclient_flow.py boots a
 * server, waits for ACTIVE, lists, shows, sets and deletes metadata, reboots and
 * deletes it, through keystoneauth's token plugin (X-Auth-Token: user:project). The
 * cloud is the services tests' one (test/services/support.ts): every service in
 * this process on the memory bus and SQLite, the API on a free port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type TestCloud } from '../services/support.js';
import { PeerGroup, PythonPeer, requirePythonPeers, type PeerLine } from './peers.js';

const STEPS = [
  'client',
  'list_flavors',
  'list_images',
  'boot',
  'wait_active',
  'list_servers',
  'show',
  'set_meta',
  'delete_meta',
  'reboot',
  'wait_active_after_reboot',
  'delete',
  'wait_deleted',
  'done',
];

describe('python-novaclient → novarpc Compute API', () => {
  const peers = new PeerGroup();
  let cloud: TestCloud;

  beforeAll(async () => {
    await requirePythonPeers();
    cloud = await startCloud();
  });

  afterAll(async () => {
    await peers.stopAll();
    await cloud?.stop();
  });

  it('the novaclient boot / metadata / reboot / delete flow passes every step', async () => {
    const flow = await PythonPeer.start(
      peers,
      'py_novaclient_flow.py',
      ['--endpoint', cloud.endpoint, '--token', 'demo:demoproject', '--timeout', '30', '--poll-interval', '0.1'],
      { waitReady: false },
    );
    const code = await flow.exited;
    const failed = flow.lines.filter((line) => line.ok !== true);
    expect(failed, `failed steps:\n${failed.map(summarize).join('\n')}\nstderr:\n${flow.stderr.slice(-3000)}`).toEqual([]);
    expect(flow.lines.map((line) => line.step)).toEqual(STEPS);
    expect(code).toBe(0);
    const boot = flow.lines.find((line) => line.step === 'boot')!;
    expect(boot.meta).toEqual({ purpose: 'interop', peer: 'python-novaclient' });
    expect((flow.lines.find((line) => line.step === 'wait_active') as { statuses_seen?: unknown[] }).statuses_seen).toContain('ACTIVE');
  }, 90_000);
});

function summarize(line: PeerLine): string {
  return JSON.stringify(line).slice(0, 800);
}
