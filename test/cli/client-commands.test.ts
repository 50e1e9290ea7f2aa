/**
 * The client commands as a user runs them: `novarpc boot --wait`, `servers show`,
 * `servers delete --wait`, each a child process started through the bin, against a
 * `novarpc all` process (memory bus, embedded SQLite) on a port of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { novarpc } from '../support/cli.js';
import { freePort } from '../support/net.js';
import { startWorker, type Worker } from '../services/processes.js';

/** Milliseconds each fake hypervisor operation takes: long enough to watch a build. */
const SPAWN_MS = 3000;
/** The order a build goes through (Nova's task states while BUILD). */
const BUILD_STATES = ['BUILD (scheduling)', 'BUILD (networking)', 'BUILD (block_device_mapping)', 'BUILD (spawning)'];

describe('client commands against a running cloud', () => {
  let cloud: Worker;
  let client: string[] = [];
  const run = (...args: string[]) => novarpc([...args, ...client]);

  beforeAll(async () => {
    const port = await freePort();
    cloud = startWorker('all', [
      'all', '--host', 'cli-host', '--api-listen', '127.0.0.1', '--api-listen-port', String(port),
      '--fake-driver-spawn-time', String(SPAWN_MS), '--notifications-driver', 'noop',
    ], {});
    client = ['--endpoint', `http://127.0.0.1:${port}/v2.1`, '--token', 'alice:project-a'];
    const deadline = Date.now() + 50_000;
    while (!cloud.lines.some((line) => line.msg === 'Compute API listening')) {
      if (cloud.process.exitCode !== null || Date.now() > deadline) throw new Error(`novarpc all did not start: ${cloud.stderr.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 60_000);

  afterAll(async () => {
    expect(await cloud?.stop()).toBe(0);
  });

  it('boot --wait prints each state change once, in build order, then ACTIVE with the address', async () => {
    const result = await run('boot', 'web-1', '--wait');
    expect(result.code, result.stderr).toBe(0);
    const [accepted, ...states] = result.stdout.trim().split('\n');
    expect(accepted).toMatch(/^server [0-9a-f-]{36} accepted \(request req-[0-9a-f-]+\)$/);
    expect(states.at(-1)).toMatch(/^web-1: ACTIVE 10\.0\.0\.\d+$/);
    const changes = states.slice(0, -1).map((line) => line.replace(/^web-1: /, ''));
    expect(changes).toContain('BUILD (spawning)');
    const order = changes.map((state) => BUILD_STATES.indexOf(state));
    expect(order.every((index) => index >= 0), changes.join(' | ')).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(new Set(order).size).toBe(order.length);
  }, 60_000);

  it('servers show finds a server by name or id and lists its fields', async () => {
    const byName = await run('servers', 'show', 'web-1');
    expect(byName.code, byName.stderr).toBe(0);
    const id = /^id\s+([0-9a-f-]{36})$/m.exec(byName.stdout)?.[1];
    expect(id).toBeDefined();
    expect(byName.stdout).toMatch(/^name\s+web-1$/m);
    expect(byName.stdout).toMatch(/^status\s+ACTIVE$/m);
    expect(byName.stdout).toMatch(/^private network\s+10\.0\.0\.\d+$/m);
    const byId = await run('servers', 'show', id!);
    expect(byId.stdout).toBe(byName.stdout);
  }, 60_000);

  it('boot --wait --timeout gives up with a message and exit 1 while the build still runs', async () => {
    const result = await run('boot', 'slow-1', '--wait', '--timeout', String(SPAWN_MS / 1000 / 6));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^novarpc: timed out after 0\.5s waiting for server slow-1 \([0-9a-f-]{36}\) to become ACTIVE or ERROR; it is BUILD/m);
    expect((await run('servers', 'show', 'slow-1')).stdout).toMatch(/^name\s+slow-1$/m);
  }, 60_000);

  it('boot --wait on a build that fails prints the fault and exits 1', async () => {
    const result = await run('boot', 'doomed-1', '--wait', '--meta', 'fake_driver:fail_on=*');
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(/^doomed-1: ERROR: .*Fake driver was told to fail spawning/);
  }, 60_000);

  it('servers show and delete refuse an unknown or ambiguous name', async () => {
    const unknown = await run('servers', 'show', 'no-such-server');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No server with a name or ID of 'no-such-server' exists.");
    for (let i = 0; i < 2; i += 1) expect((await run('boot', 'twin')).code).toBe(0);
    const ambiguous = await run('servers', 'delete', 'twin');
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/2 servers are named 'twin' \([0-9a-f-]{36}, [0-9a-f-]{36}\); use an ID\./);
    const badTimeout = await run('servers', 'delete', 'twin', '--wait', '--timeout', 'soon');
    expect(badTimeout.code).not.toBe(0);
    expect(badTimeout.stderr).toContain('--timeout must be a positive number of seconds, got "soon"');
  }, 60_000);

  it('servers delete --wait returns once the server is gone', async () => {
    const result = await run('servers', 'delete', 'web-1', '--wait');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Request to delete server web-1 \([0-9a-f-]{36}\) has been accepted\.$/m);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('web-1: deleted');
    const after = await run('servers', 'show', 'web-1');
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("No server with a name or ID of 'web-1' exists.");
  }, 60_000);
});
