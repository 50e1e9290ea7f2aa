/**
 * The scheduler's filters and weights, and its claims under concurrency (SQLite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { selectHosts, type HostState } from '../../src/services/scheduler/host-selection.js';
import { HostStateCache } from '../../src/services/scheduler/host-state-cache.js';
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
