/**
 * The scheduler's filters and weights, and its claims under concurrency (SQLite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { selectHosts, type HostState } from '../../src/services/scheduler/host-selection.js';
import { HostStateCache } from '../../src/services/scheduler/host-state-cache.js';
import { failUnplacedBuilds, UNPLACED_BUILD_REASON } from '../../src/services/scheduler/unplaced-builds.js';
import { createLogger } from '../../src/log/logger.js';
import { RequestContext } from '../../src/rpc/index.js';

const host = (name: string, overrides: Partial<HostState> = {}): HostState => ({
  host: name,
  availabilityZone: 'nova',
  up: true,
  disabled: false,
  freeRamMb: 4096,
  freeDiskGb: 100,
  freeVcpus: 8,
  ...overrides,
});

describe('scheduler host selection', () => {
  const request = { memoryMb: 1024, diskGb: 10, vcpus: 1 };

  it('keeps live, enabled hosts that fit, most free RAM first (ties by name)', () => {
    const { hosts, rejected } = selectHosts(
      [
        host('b', { freeRamMb: 2048 }),
        host('a', { freeRamMb: 2048 }),
        host('big', { freeRamMb: 8192 }),
        host('down', { up: false }),
        host('off', { disabled: true }),
        host('small', { freeRamMb: 512 }),
        host('nodisk', { freeDiskGb: 5 }),
        host('nocpu', { freeVcpus: 0 }),
      ],
      request,
    );
    expect(hosts.map((h) => h.host)).toEqual(['big', 'a', 'b']);
    expect(Object.fromEntries(rejected.map((r) => [r.host, r.reason]))).toEqual({
      down: 'compute service is down',
      off: 'compute service is disabled',
      small: '512 MB RAM free, 1024 needed',
      nodisk: '5 GB disk free, 10 needed',
      nocpu: '0 vCPUs free, 1 needed',
    });
  });

  it('honours the availability zone and the hosts already tried', () => {
    const hosts = [host('a', { availabilityZone: 'az1' }), host('b', { availabilityZone: 'az2' }), host('c', { availabilityZone: 'az1' })];
    expect(selectHosts(hosts, { ...request, availabilityZone: 'az1', ignoreHosts: ['a'] }).hosts.map((h) => h.host)).toEqual(['c']);
  });
});

describe('scheduler claims', () => {
  let db: Db;
  const ctx = RequestContext.admin();

  beforeAll(async () => {
    db = await createDb({ url: 'sqlite://', migrate: true });
    for (const name of ['h1', 'h2']) {
      await db.services.create(ctx, { host: name, binary: 'nova-compute', topic: 'compute' });
      await db.computeNodes.upsert(ctx, { host: name, vcpus: 100, memory_mb: 10 * 512, local_gb: 1000 });
    }
  });
  afterAll(async () => {
    await db?.close();
  });

  it('concurrent requests spread over hosts and never over-claim', async () => {
    const cache = new HostStateCache(db, 60);
    const results = await Promise.all(Array.from({ length: 24 }, () => cache.claimBest(ctx, { memoryMb: 512, diskGb: 1, vcpus: 1 })));
    const placed = results.map((r) => r.host).filter(Boolean);
    expect(placed).toHaveLength(20);
    expect(placed.filter((h) => h === 'h1')).toHaveLength(10);
    expect(placed.filter((h) => h === 'h2')).toHaveLength(10);
    const nodes = await db.computeNodes.list(ctx);
    expect(nodes.map((n) => n.memory_mb_used)).toEqual([5120, 5120]);
  });
});

describe('builds that never reached a host', () => {
  let db: Db;
  const ctx = RequestContext.admin();

  beforeAll(async () => {
    db = await createDb({ url: 'sqlite://', migrate: true });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('go to ERROR after waiting instance_build_timeout; placed, settled and fresher builds are left alone', async () => {
    // A scheduler that lost its database mid-claim leaves a server building, scheduling, no host.
    const unplaced = await db.instances.create(ctx, { display_name: 'unplaced', project_id: 'p' });
    const placed = await db.instances.create(ctx, { display_name: 'placed', project_id: 'p', host: 'h1' });
    const active = await db.instances.create(ctx, { display_name: 'active', project_id: 'p', vm_state: 'active', task_state: null });
    const deps = { db, logger: createLogger({ level: 'silent' }), buildTimeoutSeconds: 40 };

    expect(await failUnplacedBuilds(deps, ctx, Date.now())).toBe(0); // younger than the timeout
    expect((await db.instances.get(ctx, unplaced.uuid)).vm_state).toBe('building');

    // A build taken over from a dead host (host cleared, back to scheduling) waits afresh.
    const takenOver = await db.instances.create(ctx, { display_name: 'taken-over', project_id: 'p', host: 'dead', task_state: 'spawning' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await db.instances.update(ctx, takenOver.uuid, { host: null, task_state: 'scheduling' });
    const updatedAt = (await db.instances.get(ctx, takenOver.uuid)).updated_at!.getTime();
    expect(updatedAt).toBeGreaterThan(takenOver.created_at.getTime());

    expect(await failUnplacedBuilds(deps, ctx, updatedAt + 39_990)).toBe(1);
    expect((await db.instances.get(ctx, takenOver.uuid)).vm_state).toBe('building');
    expect(await db.instances.get(ctx, unplaced.uuid)).toMatchObject({ vm_state: 'error', task_state: null });
    expect((await db.instanceFaults.list(ctx, unplaced.uuid))[0]).toMatchObject({ code: 500, message: UNPLACED_BUILD_REASON });
    expect(await db.instances.get(ctx, placed.uuid)).toMatchObject({ vm_state: 'building', task_state: 'scheduling', host: 'h1' });
    expect((await db.instances.get(ctx, active.uuid)).vm_state).toBe('active');
  });
});
