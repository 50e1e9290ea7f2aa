/**
 * Compute periodic tasks and notifications (memory bus + SQLite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationListener, RequestContext } from '../../src/rpc/index.js';
import { startCloud, type TestCloud } from './support.js';

describe('compute service', () => {
  let cloud: TestCloud;
  const events: Array<{ eventType: string; publisher: string; requestId: string; payload: Record<string, unknown> }> = [];
  let listener: NotificationListener;

  beforeAll(async () => {
    // The build timeout is short for the stuck-build test, yet long enough that a normal
    // boot on a loaded machine finishes well inside it.
    cloud = await startCloud({ instanceBuildTimeout: 5, periodicInterval: 0.3, notificationDriver: 'messagingv2', notificationTopics: ['notifications'] });
    listener = new NotificationListener(cloud.runtime.transport, [{ topic: 'notifications' }], [
      {
        info: (ctx, publisher, eventType, payload) => {
          events.push({ eventType, publisher, requestId: ctx.requestId, payload: payload as Record<string, unknown> });
        },
      },
    ]);
    await listener.start();
  });
  afterAll(async () => {
    await listener?.stop();
    await cloud?.stop();
  });

  it('sends compute.instance.create.start/end on notifications.info with the request id', async () => {
    const created = await cloud.request('POST', '/servers', { server: { name: 'noisy', imageRef: '928e2889-6359-40ef-b44c-0aa0b7394be1', flavorRef: '1' } });
    const requestId = created.headers.get('x-openstack-request-id')!;
    await cloud.waitFor(created.body.server.id, ['ACTIVE']);
    await expect.poll(() => events.filter((e) => e.requestId === requestId).map((e) => e.eventType)).toEqual([
      'compute.instance.create.start',
      'compute.instance.create.end',
    ]);
    const end = events.find((e) => e.requestId === requestId && e.eventType.endsWith('.end'))!;
    expect(end.publisher).toMatch(/^compute\.c[12]$/);
    expect(end.payload).toMatchObject({ instance_id: created.body.server.id, state: 'active', display_name: 'noisy' });
    expect((end.payload.fixed_ips as Array<{ address: string }>)[0]!.address).toMatch(/^10\.0\.0\./);
  });

  it('puts a build stuck longer than instance_build_timeout in ERROR', async () => {
    const ctx = RequestContext.admin({ projectId: 'project-a' });
    const stuck = await cloud.runtime.db.instances.create(ctx, { display_name: 'stuck', host: 'c1', task_state: 'spawning', project_id: 'project-a' });
    const server = await cloud.waitFor(stuck.uuid, ['ERROR'], undefined, 30_000);
    expect(server.fault.message).toContain('build timed out');
  }, 40_000);
});
