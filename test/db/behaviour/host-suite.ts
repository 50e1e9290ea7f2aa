/** Services (heartbeat, is-up) and compute nodes (capacity claims). */
import { describe, expect, it } from 'vitest';
import { adminContext, ComputeResourcesUnavailableError, isServiceUp } from '../../../src/db/index.js';
import { uniqueName, type DbFixture } from './fixture.js';

export function hostSuite(fixture: DbFixture): void {
  const ctx = adminContext({ requestId: 'req-hosts' });

  describe('services', () => {
    it('count heartbeats and are up until service_down_time passes without one', async () => {
      const { db } = fixture;
      const host = uniqueName('compute');
      const service = await db.services.create(ctx, { host, binary: 'nova-compute', topic: 'compute' });
      expect(service).toMatchObject({ report_count: 0, disabled: false, availability_zone: 'nova', updated_at: null });

      const beat1 = await db.services.heartbeat(ctx, service.id);
      const beatAt = new Date(Date.now() + 5_000);
      const beat2 = await db.services.heartbeat(ctx, service.id, beatAt);
      expect(beat1.report_count).toBe(1);
      expect(beat2.report_count).toBe(2);
      expect(beat2.updated_at).toEqual(beatAt);
      expect(beat2.last_seen_up).toEqual(beatAt);

      expect(isServiceUp(beat2, new Date(beatAt.getTime() + 59_000))).toBe(true);
      expect(isServiceUp(beat2, new Date(beatAt.getTime() + 61_000))).toBe(false);
      expect(isServiceUp(beat2, new Date(beatAt.getTime() + 61_000), 120)).toBe(true);
      // Before the first heartbeat, created_at counts.
      expect(isServiceUp(service, new Date(service.created_at.getTime() + 30_000))).toBe(true);

      const found = await db.services.getByHostAndBinary(ctx, host, 'nova-compute');
      expect(found.report_count).toBe(2);
      expect((await db.services.list(ctx, { topic: 'compute', host })).map((s) => s.id)).toEqual([service.id]);
    });

    it('count concurrent heartbeats without losing one', async () => {
      const { db } = fixture;
      const service = await db.services.create(ctx, { host: uniqueName('h'), binary: 'nova-network', topic: 'network' });
      await Promise.all(Array.from({ length: 20 }, () => db.services.heartbeat(ctx, service.id)));
      expect((await db.services.get(ctx, service.id)).report_count).toBe(20);
    });

    it('are disabled with a reason, refuse a duplicate, and can be registered again after deletion', async () => {
      const { db } = fixture;
      const host = uniqueName('compute');
      const service = await db.services.create(ctx, { host, binary: 'nova-compute', topic: 'compute' });
      const disabled = await db.services.update(ctx, service.id, { disabled: true, disabled_reason: 'maintenance' });
      expect(disabled).toMatchObject({ disabled: true, disabled_reason: 'maintenance' });

      await expect(db.services.create(ctx, { host, binary: 'nova-compute', topic: 'compute' })).rejects.toMatchObject({
        code: 'DuplicateEntry',
      });
      await db.services.destroy(ctx, service.id);
      await expect(db.services.get(ctx, service.id)).rejects.toMatchObject({ code: 'ServiceNotFound' });
      const again = await db.services.create(ctx, { host, binary: 'nova-compute', topic: 'compute' });
      expect(again.id).not.toBe(service.id);
    });
  });

  describe('compute nodes', () => {
    it('take claims that fit, refuse one that would exceed capacity, and get it back on release', async () => {
      const { db } = fixture;
      const host = uniqueName('compute');
      const node = await db.computeNodes.upsert(ctx, { host, vcpus: 4, memory_mb: 4096, local_gb: 40, hypervisor_type: 'fake' });
      expect(node).toMatchObject({ vcpus_used: 0, memory_mb_used: 0, local_gb_used: 0, hypervisor_hostname: host });

      const afterClaim = await db.computeNodes.claim(ctx, host, { memory_mb: 2048, vcpus: 2, local_gb: 20 });
      expect(afterClaim).toMatchObject({ memory_mb_used: 2048, vcpus_used: 2, local_gb_used: 20, running_vms: 1 });

      const refused = await db.computeNodes.claim(ctx, host, { memory_mb: 4096, vcpus: 1, local_gb: 1 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ComputeResourcesUnavailableError);
      expect(refused).toMatchObject({
        code: 'ComputeResourcesUnavailable',
        shortfalls: [{ resource: 'memory_mb', requested: 4096, free: 2048 }],
      });
      expect((await db.computeNodes.get(ctx, host)).memory_mb_used).toBe(2048);

      const released = await db.computeNodes.release(ctx, host, { memory_mb: 2048, vcpus: 2, local_gb: 20 });
      expect(released).toMatchObject({ memory_mb_used: 0, vcpus_used: 0, local_gb_used: 0, running_vms: 0 });
      expect((await db.computeNodes.claim(ctx, host, { memory_mb: 4096, vcpus: 4, local_gb: 40 })).memory_mb_used).toBe(4096);
    });

    it('never over-commit under concurrent claims, and keep usage when the host reports again', async () => {
      const { db } = fixture;
      const host = uniqueName('compute');
      await db.computeNodes.upsert(ctx, { host, vcpus: 64, memory_mb: 4096, local_gb: 1000 });
      const claims = await Promise.allSettled(
        Array.from({ length: 12 }, () => db.computeNodes.claim(ctx, host, { memory_mb: 512, vcpus: 1, local_gb: 1 })),
      );
      expect(claims.filter((c) => c.status === 'fulfilled')).toHaveLength(8);
      expect(claims.filter((c) => c.status === 'rejected').map((c) => (c as PromiseRejectedResult).reason.code)).toEqual(
        Array(4).fill('ComputeResourcesUnavailable'),
      );
      const reported = await db.computeNodes.upsert(ctx, { host, vcpus: 64, memory_mb: 8192, local_gb: 1000 });
      expect(reported).toMatchObject({ memory_mb: 8192, memory_mb_used: 4096, running_vms: 8 });
      await expect(db.computeNodes.get(ctx, uniqueName('nowhere'))).rejects.toMatchObject({ code: 'ComputeHostNotFound' });
    });

    it('claim for an instance sets its host with the claim, or neither: not when full, not when it moved on', async () => {
      const { db } = fixture;
      const host = uniqueName('compute');
      await db.computeNodes.upsert(ctx, { host, vcpus: 8, memory_mb: 2048, local_gb: 100 });
      const amounts = { memory_mb: 1024, vcpus: 1, local_gb: 10 };
      const waiting = () => db.instances.create(ctx, { display_name: uniqueName('placed'), project_id: 'p' });
      const place = (uuid: string) => ({ uuid, expectedTaskState: 'scheduling', expectedVmState: 'building' });

      const first = await waiting();
      await db.computeNodes.claimForInstance(ctx, host, amounts, place(first.uuid));
      expect((await db.instances.get(ctx, first.uuid)).host).toBe(host);
      expect(await db.computeNodes.get(ctx, host)).toMatchObject({ memory_mb_used: 1024, vcpus_used: 1, local_gb_used: 10, running_vms: 1 });

      // An instance deleted meanwhile (task_state deleting) takes no claim and no host.
      const moved = await waiting();
      await db.instances.update(ctx, moved.uuid, { task_state: 'deleting' });
      await expect(db.computeNodes.claimForInstance(ctx, host, amounts, place(moved.uuid))).rejects.toMatchObject({ code: 'UnexpectedTaskState', actual: 'deleting' });
      await expect(db.computeNodes.claimForInstance(ctx, host, amounts, place('00000000-0000-0000-0000-000000000000'))).rejects.toMatchObject({ code: 'InstanceNotFound' });

      const tooBig = await waiting();
      const refused = await db.computeNodes.claimForInstance(ctx, host, { ...amounts, memory_mb: 2048 }, place(tooBig.uuid)).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'ComputeResourcesUnavailable', shortfalls: [{ resource: 'memory_mb', requested: 2048, free: 1024 }] });
      expect((await db.instances.get(ctx, tooBig.uuid)).host).toBeNull();
      expect(await db.computeNodes.get(ctx, host)).toMatchObject({ memory_mb_used: 1024, running_vms: 1 });
    });

    it('claim for an instance refuses a host whose service is disabled or forced down at the time of the claim', async () => {
      const { db } = fixture;
      const host = uniqueName('compute');
      await db.computeNodes.upsert(ctx, { host, vcpus: 8, memory_mb: 4096, local_gb: 100 });
      const service = await db.services.create(ctx, { host, binary: 'nova-compute', topic: 'compute' });
      const amounts = { memory_mb: 512, vcpus: 1, local_gb: 1 };
      const place = (uuid: string) => ({ uuid, expectedTaskState: 'scheduling', expectedVmState: 'building' });
      const waiting = () => db.instances.create(ctx, { display_name: uniqueName('gated'), project_id: 'p' });

      for (const [changes, state] of [[{ disabled: true }, 'disabled'], [{ disabled: false, forced_down: true }, 'forced down']] as const) {
        await db.services.update(ctx, service.id, changes);
        const instance = await waiting();
        const refused = await db.computeNodes.claimForInstance(ctx, host, amounts, place(instance.uuid)).catch((e: unknown) => e);
        expect(refused).toMatchObject({ code: 'ComputeResourcesUnavailable', serviceState: state });
        expect((await db.instances.get(ctx, instance.uuid)).host).toBeNull();
      }
      expect(await db.computeNodes.get(ctx, host)).toMatchObject({ memory_mb_used: 0, running_vms: 0 });
      await db.services.update(ctx, service.id, { forced_down: false });
      const placed = await waiting();
      await db.computeNodes.claimForInstance(ctx, host, amounts, place(placed.uuid));
      expect((await db.instances.get(ctx, placed.uuid)).host).toBe(host);
    });

    it('claim for instances concurrently: as many as fit get a host, the others none, never over-committed', async () => {
      const { db } = fixture;
      const host = uniqueName('compute');
      await db.computeNodes.upsert(ctx, { host, vcpus: 64, memory_mb: 4096, local_gb: 1000 });
      const instances = await Promise.all(Array.from({ length: 12 }, () => db.instances.create(ctx, { display_name: uniqueName('race'), project_id: 'p' })));
      const claims = await Promise.allSettled(
        instances.map((instance) =>
          db.computeNodes.claimForInstance(ctx, host, { memory_mb: 512, vcpus: 1, local_gb: 1 }, { uuid: instance.uuid, expectedTaskState: 'scheduling', expectedVmState: 'building' }),
        ),
      );
      expect(claims.filter((c) => c.status === 'fulfilled')).toHaveLength(8);
      const hosts = await Promise.all(instances.map(async (instance) => (await db.instances.get(ctx, instance.uuid)).host));
      expect(hosts.filter((h) => h === host)).toHaveLength(8);
      expect(hosts.filter((h) => h === null)).toHaveLength(4);
      expect(await db.computeNodes.get(ctx, host)).toMatchObject({ memory_mb_used: 4096, running_vms: 8 });
    });
  });
}
