/**
 * The database guards of instance HA on MariaDB, under real concurrency: reports of one
 * host failure race and exactly one becomes `new` (the others `ignored`, naming it);
 * engines race to claim a notification and exactly one wins; a lease that ran out lets
 * another engine take the workflow over, and the first can no longer renew or finish it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { RequestContext } from '../../src/rpc/index.js';
import { createDatabase } from '../services/processes.js';
import { databaseUrl } from '../support/services.js';

describe('instance HA claims on MariaDB', () => {
  let db: Db;
  let drop: () => Promise<void>;
  const ctx = RequestContext.admin();
  const report = (hostname: string) => ({ type: 'COMPUTE_HOST', hostname, generated_time: new Date(), payload: { event: 'STOPPED' }, source_host_uuid: null, failover_segment_uuid: null });

  beforeAll(async () => {
    const database = await createDatabase(await databaseUrl(), 'novarpc_ha_claims');
    drop = database.drop;
    db = await createDb({ url: database.url, migrate: true, maxPoolSize: 12 });
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('of 10 concurrent reports of one failure, one is new and 9 are ignored naming it', async () => {
    const rows = await Promise.all(Array.from({ length: 10 }, () => db.haNotifications.create(ctx, report('host-x'), { epoch: '2026-12-07T18:00:00.000Z' })));
    const fresh = rows.filter((row) => row.status === 'new');
    expect(fresh).toHaveLength(1);
    const ignored = rows.filter((row) => row.status === 'ignored');
    expect(ignored).toHaveLength(9);
    for (const row of ignored) expect(row.message).toContain(fresh[0]!.notification_uuid);
    const next = await db.haNotifications.create(ctx, report('host-x'), { epoch: '2026-12-07T18:05:00.000Z' });
    expect(next.status).toBe('new');
  });

  it('of 8 engines claiming one notification, one wins; after its lease runs out another takes over', async () => {
    const row = await db.haNotifications.create(ctx, report('host-y'), { epoch: 'e1' });
    const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => db.haNotifications.claim(ctx, row.notification_uuid, `engine-${i}`, 60)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    const winner = `engine-${wins.indexOf(true)}`;
    expect(await db.haNotifications.renewLease(ctx, row.notification_uuid, winner, 60)).toBe(true);

    const later = new Date(Date.now() + 120_000);
    expect(await db.haNotifications.listClaimable(ctx, 2, later)).toContain(row.notification_uuid);
    expect(await db.haNotifications.claim(ctx, row.notification_uuid, 'engine-next', 60, later)).toBe(true);
    expect(await db.haNotifications.renewLease(ctx, row.notification_uuid, winner, 60)).toBe(false);
    expect(await db.haNotifications.finish(ctx, row.notification_uuid, winner, 'finished', null)).toBe(false);
    expect(await db.haNotifications.finish(ctx, row.notification_uuid, 'engine-next', 'finished', null)).toBe(true);
    expect(await db.haNotifications.get(ctx, row.notification_uuid)).toMatchObject({ status: 'finished', attempts: 2 });
  });

  it('records one vmove per server and workflow, however often it is ensured', async () => {
    const values = { notification_uuid: 'n-1', instance_uuid: 'i-1', instance_name: 'vm', source_host: 'h', type: 'evacuation' };
    const first = await db.haWorkflows.ensureVmove(ctx, values);
    const again = await db.haWorkflows.ensureVmove(ctx, values);
    expect(again.uuid).toBe(first.uuid);
    expect(await db.haWorkflows.listVmoves(ctx, 'n-1')).toHaveLength(1);
  });
});
