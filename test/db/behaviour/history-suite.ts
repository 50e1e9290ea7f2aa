/** Instance actions, their events and instance faults: the per-instance event log. */
import { describe, expect, it } from 'vitest';
import { projectContext, uniqueName, type DbFixture } from './fixture.js';

export function historySuite(fixture: DbFixture): void {
  describe('instance actions', () => {
    it('record an action per request with its events, newest action first', async () => {
      const { db } = fixture;
      const boot = projectContext(uniqueName('p'));
      const instance = await db.instances.create(boot, { display_name: 'logged' });
      const create = await db.instanceActions.start(boot, instance.uuid, 'create');
      expect(create).toMatchObject({ action: 'create', request_id: boot.requestId, project_id: boot.projectId, finish_time: null });

      await db.instanceActions.startEvent(boot, instance.uuid, 'compute_run_instance', 'compute1');
      const event = await db.instanceActions.finishEvent(boot, instance.uuid, 'compute_run_instance', { result: 'Success' });
      expect(event).toMatchObject({ event: 'compute_run_instance', result: 'Success', host: 'compute1' });
      expect(event.finish_time).toBeInstanceOf(Date);
      await db.instanceActions.finish(boot, instance.uuid);

      const reboot = { ...boot, requestId: `${boot.requestId}-reboot` };
      await db.instanceActions.start(reboot, instance.uuid, 'reboot');
      await db.instanceActions.startEvent(reboot, instance.uuid, 'compute_reboot_instance');
      await db.instanceActions.finishEvent(reboot, instance.uuid, 'compute_reboot_instance', {
        result: 'Error',
        traceback: 'Traceback: libvirt said no',
      });

      const actions = await db.instanceActions.list(boot, instance.uuid);
      expect(actions.map((a) => [a.action, a.message])).toEqual([
        ['reboot', 'Error'],
        ['create', null],
      ]);
      expect(actions[1]!.finish_time).toBeInstanceOf(Date);
      const events = await db.instanceActions.listEvents(boot, actions[0]!.id);
      expect(events.map((e) => [e.event, e.result, e.traceback])).toEqual([
        ['compute_reboot_instance', 'Error', 'Traceback: libvirt said no'],
      ]);
      await expect(db.instanceActions.startEvent(projectContext('p'), instance.uuid, 'x')).rejects.toMatchObject({
        code: 'InstanceActionNotFound',
      });
      await expect(db.instanceActions.list(projectContext(uniqueName('other')), instance.uuid)).rejects.toMatchObject({
        code: 'InstanceNotFound',
      });
    });
  });

  describe('instance faults', () => {
    it('are recorded per instance and listed newest first, even after the instance is deleted', async () => {
      const { db } = fixture;
      const ctx = projectContext(uniqueName('p'));
      const instance = await db.instances.create(ctx, { display_name: 'faulty' });
      await db.instanceFaults.create(ctx, { instance_uuid: instance.uuid, code: 500, message: 'No valid host was found.' });
      await db.instanceFaults.create(ctx, {
        instance_uuid: instance.uuid,
        code: 500,
        message: 'x'.repeat(300),
        details: 'Traceback ...',
        host: 'compute2',
      });
      await db.instances.destroy(ctx, instance.uuid);
      const faults = await db.instanceFaults.list(ctx, instance.uuid);
      expect(faults.map((f) => f.message?.length)).toEqual([255, 24]);
      expect(faults[0]).toMatchObject({ code: 500, host: 'compute2', details: 'Traceback ...' });
    });
  });
}
