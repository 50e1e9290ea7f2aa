/** Instances: lifecycle, soft delete, project scoping, compare-and-swap and metadata. */
import { describe, expect, it } from 'vitest';
import {
  adminContext,
  DuplicateEntryError,
  NotFoundError,
  UnexpectedTaskStateError,
  withReadDeleted,
} from '../../../src/db/index.js';
import { projectContext, uniqueName, type DbFixture } from './fixture.js';

export function instanceSuite(fixture: DbFixture): void {
  describe('instances', () => {
    it('transition: a compare-and-swap from a held row returns what the database holds, and loses a race cleanly', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      const created = await db.instances.create(ctx, { display_name: 'walker', memory_mb: 512 });
      const networking = await db.instances.transition(ctx, created, { task_state: 'networking' }, { expectedTaskState: 'scheduling' });
      const launchedAt = new Date('2026-11-21T12:00:00.000Z');
      const active = await db.instances.transition(
        ctx,
        networking,
        { vm_state: 'active', task_state: null, power_state: 1, launched_at: launchedAt },
        { expectedTaskState: 'networking' },
      );
      const stored = await db.instances.get(ctx, created.uuid);
      expect(active).toMatchObject({ vm_state: 'active', task_state: null, power_state: 1, display_name: 'walker', memory_mb: 512 });
      expect(stored).toMatchObject({ vm_state: 'active', task_state: null, power_state: 1, display_name: 'walker', memory_mb: 512 });
      expect(stored.launched_at?.getTime()).toBe(launchedAt.getTime());
      // A stale holder of the networking row loses: the instance is not in networking any more.
      const stale = await db.instances.transition(ctx, networking, { task_state: 'spawning' }, { expectedTaskState: 'networking' }).catch((error: unknown) => error);
      expect(stale).toBeInstanceOf(UnexpectedTaskStateError);
      expect((stale as UnexpectedTaskStateError).actual).toBeNull();
      expect((await db.instances.get(ctx, created.uuid)).task_state).toBeNull();
    });

    it('are created building/scheduling in the caller project, read back by uuid and updated', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      const created = await db.instances.create(ctx, { display_name: 'vm1', instance_type_id: 1, memory_mb: 512, vcpus: 1 });
      expect(created).toMatchObject({ vm_state: 'building', task_state: 'scheduling', power_state: 0, deleted: 0 });
      expect(created.project_id).toBe(ctx.projectId);
      expect(created.uuid).toMatch(/^[0-9a-f-]{36}$/);

      const fetched = await db.instances.get(ctx, created.uuid);
      expect(fetched).toEqual(created);
      expect(fetched.created_at).toBeInstanceOf(Date);

      const launchedAt = new Date('2024-05-01T12:00:00.123Z');
      const updated = await db.instances.update(ctx, created.uuid, {
        vm_state: 'active',
        task_state: null,
        power_state: 1,
        host: 'compute1',
        launched_at: launchedAt,
      });
      expect(updated).toMatchObject({ vm_state: 'active', task_state: null, power_state: 1, host: 'compute1' });
      expect(updated.launched_at).toEqual(launchedAt);
      expect(updated.updated_at).toBeInstanceOf(Date);
    });

    it('are listed by project and by host, newest first, with name, vm_state, limit and marker filters', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      const host = uniqueName('compute');
      const made = [];
      for (const name of ['web-1', 'web-2', 'db-1', 'web_3']) made.push(await db.instances.create(ctx, { display_name: name, host }));
      await db.instances.update(ctx, made[2]!.uuid, { vm_state: 'active' });

      const all = await db.instances.listByProject(ctx, ctx.projectId!);
      expect(all.map((i) => i.display_name)).toEqual(['web_3', 'db-1', 'web-2', 'web-1']);
      expect((await db.instances.listByHost(adminContext(), host)).map((i) => i.uuid)).toEqual(all.map((i) => i.uuid));
      expect((await db.instances.list(ctx, { name: 'web' })).map((i) => i.display_name)).toEqual(['web_3', 'web-2', 'web-1']);
      expect((await db.instances.list(ctx, { name: 'b_' })).map((i) => i.display_name)).toEqual(['web_3']);
      expect((await db.instances.list(ctx, { vm_state: 'active' })).map((i) => i.display_name)).toEqual(['db-1']);

      const page1 = await db.instances.listByProject(ctx, ctx.projectId!, { limit: 2 });
      const page2 = await db.instances.listByProject(ctx, ctx.projectId!, { limit: 2, marker: page1[1]!.uuid });
      expect([...page1, ...page2].map((i) => i.uuid)).toEqual(all.map((i) => i.uuid));
      await expect(db.instances.list(ctx, { marker: 'no-such-uuid' })).rejects.toMatchObject({ code: 'MarkerNotFound' });
    });

    it('are soft-deleted: hidden by default, seen with read_deleted yes or only', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      const kept = await db.instances.create(ctx, { display_name: 'kept' });
      const doomed = await db.instances.create(ctx, { display_name: 'doomed', metadata: { role: 'test' } });
      const deleted = await db.instances.destroy(ctx, doomed.uuid);
      expect(deleted.deleted).toBe(doomed.id);
      expect(deleted.deleted_at).toBeInstanceOf(Date);

      await expect(db.instances.get(ctx, doomed.uuid)).rejects.toMatchObject({ code: 'InstanceNotFound' });
      await expect(db.instances.update(ctx, doomed.uuid, { vm_state: 'active' })).rejects.toBeInstanceOf(NotFoundError);
      expect((await db.instances.list(ctx)).map((i) => i.uuid)).toEqual([kept.uuid]);

      const withDeleted = await db.instances.list(withReadDeleted(ctx, 'yes'));
      expect(withDeleted.map((i) => i.uuid).sort()).toEqual([kept.uuid, doomed.uuid].sort());
      expect((await db.instances.list(withReadDeleted(ctx, 'only'))).map((i) => i.uuid)).toEqual([doomed.uuid]);
      expect((await db.instances.get(withReadDeleted(ctx, 'only'), doomed.uuid)).deleted).toBe(doomed.id);
      // Its metadata went with it.
      const metadataRows = await db.knex('instance_metadata').where({ instance_uuid: doomed.uuid, deleted: 0 });
      expect(metadataRows).toEqual([]);
    });

    it('of one project are invisible and untouchable to a non-admin context of another', async () => {
      const { db } = fixture;
      const owner = projectContext(uniqueName('owner'));
      const stranger = projectContext(uniqueName('stranger'));
      const instance = await db.instances.create(owner, { display_name: 'private' });

      const notFound = await db.instances.get(stranger, instance.uuid).catch((e: unknown) => e);
      expect(notFound).toBeInstanceOf(NotFoundError);
      expect(notFound).toMatchObject({ code: 'InstanceNotFound', message: expect.stringContaining(instance.uuid) });
      await expect(db.instances.update(stranger, instance.uuid, { vm_state: 'error' })).rejects.toMatchObject({
        code: 'InstanceNotFound',
      });
      await expect(db.instances.destroy(stranger, instance.uuid)).rejects.toMatchObject({ code: 'InstanceNotFound' });
      await expect(db.instanceMetadata.get(stranger, instance.uuid)).rejects.toMatchObject({ code: 'InstanceNotFound' });
      expect(await db.instances.listByProject(stranger, owner.projectId!)).toEqual([]);
      expect(await db.instances.list({ isAdmin: false })).toEqual([]);

      expect((await db.instances.get(owner, instance.uuid)).vm_state).toBe('building');
      expect((await db.instances.get(adminContext(), instance.uuid)).uuid).toBe(instance.uuid);
    });

    it('move task_state by compare-and-swap: of two racing updates exactly one wins', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      const instance = await db.instances.create(ctx, { display_name: 'raced' });
      const results = await Promise.allSettled([
        db.instances.update(ctx, instance.uuid, { task_state: 'spawning' }, { expectedTaskState: 'scheduling' }),
        db.instances.update(ctx, instance.uuid, { task_state: 'deleting' }, { expectedTaskState: 'scheduling' }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const winner = (won[0] as PromiseFulfilledResult<{ task_state: string | null }>).value.task_state;
      const conflict = lost[0]!.reason as UnexpectedTaskStateError;
      expect(conflict).toBeInstanceOf(UnexpectedTaskStateError);
      expect(conflict.code).toBe('UnexpectedTaskState');
      expect(conflict.expected).toEqual(['scheduling']);
      expect(conflict.actual).toBe(winner);
      expect(conflict.message).toContain('scheduling');
      expect(conflict.message).toContain(String(winner));
      expect((await db.instances.get(ctx, instance.uuid)).task_state).toBe(winner);

      // null in the expectation matches an instance with no task.
      await db.instances.update(ctx, instance.uuid, { task_state: null }, { expectedTaskState: [winner] });
      const done = await db.instances.update(ctx, instance.uuid, { vm_state: 'active' }, { expectedTaskState: [null, 'x'] });
      expect(done.vm_state).toBe('active');
    });

    it('refuse a second instance with the same uuid', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      const first = await db.instances.create(ctx, {});
      const duplicate = await db.instances.create(ctx, { uuid: first.uuid }).catch((e: unknown) => e);
      expect(duplicate).toBeInstanceOf(DuplicateEntryError);
      expect(duplicate).toMatchObject({ code: 'DuplicateEntry' });
    });

    it('are created with their metadata and security groups in one go, or not at all', async () => {
      const { db } = fixture;
      const project = uniqueName('p');
      const ctx = projectContext(project);
      const admin = adminContext({ requestId: 'req-groups' });
      const group = await db.securityGroups.ensureDefault(admin, project);
      const created = await db.instances.create(ctx, { display_name: 'with-groups', metadata: { role: 'web' }, securityGroupIds: [group.id] });
      expect((await db.securityGroups.listForInstance(admin, created.uuid)).map((g) => g.id)).toEqual([group.id]);
      expect(await db.instanceMetadata.get(ctx, created.uuid)).toEqual({ role: 'web' });
      // A group that does not exist fails the association, and the row goes with it.
      const uuid = crypto.randomUUID();
      await expect(db.instances.create(ctx, { uuid, securityGroupIds: [group.id, -1] })).rejects.toBeDefined();
      await expect(db.instances.get(ctx, uuid)).rejects.toMatchObject({ code: 'InstanceNotFound' });
    });
  });

  describe('instance metadata', () => {
    it('is read, merged, replaced and deleted key by key', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      const instance = await db.instances.create(ctx, { metadata: { role: 'web', tier: 'front' } });
      expect(await db.instanceMetadata.get(ctx, instance.uuid)).toEqual({ role: 'web', tier: 'front' });

      expect(await db.instanceMetadata.update(ctx, instance.uuid, { tier: 'back', owner: 'ops' })).toEqual({
        role: 'web',
        tier: 'back',
        owner: 'ops',
      });
      expect(await db.instanceMetadata.update(ctx, instance.uuid, { role: 'db' }, { replace: true })).toEqual({ role: 'db' });

      await db.instanceMetadata.deleteKey(ctx, instance.uuid, 'role');
      expect(await db.instanceMetadata.get(ctx, instance.uuid)).toEqual({});
      await expect(db.instanceMetadata.deleteKey(ctx, instance.uuid, 'role')).rejects.toMatchObject({
        code: 'InstanceMetadataNotFound',
        message: expect.stringContaining('role'),
      });
      // A deleted key can come back: soft-deleted rows keep deleted = id out of the unique key.
      expect(await db.instanceMetadata.update(ctx, instance.uuid, { role: 'cache', tier: 'front' })).toEqual({
        role: 'cache',
        tier: 'front',
      });
    });
  });

  describe('transactions', () => {
    it('roll back everything when the function throws', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      let uuid = '';
      const failure = db.transaction(ctx, async (tx) => {
        uuid = (await tx.instances.create(ctx, { display_name: 'ghost' })).uuid;
        await tx.instanceMetadata.update(ctx, uuid, { a: '1' });
        throw new Error('changed my mind');
      });
      await expect(failure).rejects.toThrow('changed my mind');
      await expect(db.instances.get(ctx, uuid)).rejects.toMatchObject({ code: 'InstanceNotFound' });
    });

    it('re-run the function after a deadlock and commit its last run', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      let runs = 0;
      const created = await db.transaction(ctx, async (tx) => {
        runs += 1;
        const instance = await tx.instances.create(ctx, { display_name: `attempt-${runs}` });
        if (runs === 1) throw Object.assign(new Error('Deadlock found when trying to get lock'), { errno: 1213 });
        return instance;
      });
      expect(runs).toBe(2);
      expect((await db.instances.list(ctx)).map((i) => i.display_name)).toEqual([created.display_name]);
    });
  });
}
