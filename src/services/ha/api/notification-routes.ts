/**
 * /notifications (and, from 1.3, /notifications/{id}/vmoves) of the instance HA API. A
 * new notification is stored, then cast to the engine; when the cast fails it stays `new`
 * and the engine's scan takes it. Reports of one host failure are told apart by the
 * failure's epoch (the compute service's last heartbeat): the first starts the workflow,
 * the others are stored `ignored` with the reason.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db, HaNotificationFilters, HaNotificationRow } from '../../../db/index.js';
import type { Logger } from '../../../log/logger.js';
import type { RequestContext } from '../../../rpc/index.js';
import type { ContractClient } from '../../../rpc/contract.js';
import { badRequest, conflict } from '../../api/faults.js';
import { param, query, requireAdmin } from '../../api/routes/context.js';
import type { haEngineContract } from '../engine/contract.js';
import { atLeast, requireVersion } from './microversion.js';
import { limited } from './segment-routes.js';
import { parseNotification, type NotificationInput } from './validation.js';
import { notificationView, vmoveView } from './views.js';

/** What the notification routes need. */
export interface NotificationRouteDeps {
  db: Db;
  engine: ContractClient<typeof haEngineContract.methods>;
  logger: Logger;
}

const SORT_KEYS = ['created_at', 'generated_time', 'type', 'status', 'source_host_uuid', 'updated_at', 'id'];

/** Registers the notification and vmove routes. */
export function notificationRoutes(app: FastifyInstance, deps: NotificationRouteDeps): void {
  const { db } = deps;
  app.post('/notifications', async (request, reply) => {
    const ctx = requireAdmin(request, 'os_masakari_api:notifications:create');
    const notification = await createNotification(db, ctx, parseNotification(request.body));
    if (notification.status === 'new') {
      await deps.engine.process_notification(ctx, { notification: { notification_uuid: notification.notification_uuid } }).catch((error: unknown) => {
        deps.logger.warn({ err: error, notification_uuid: notification.notification_uuid }, 'engine not told; its scan will take the notification');
      });
    }
    void reply.code(202);
    return { notification: notificationView(notification) };
  });

  app.get('/notifications', async (request) => {
    const ctx = requireAdmin(request, 'os_masakari_api:notifications:index');
    const filters: HaNotificationFilters = {};
    for (const name of ['status', 'type', 'source_host_uuid'] as const) {
      const value = query(request, name);
      if (value !== undefined) filters[name] = value;
    }
    const since = query(request, 'generated-since');
    if (since !== undefined) {
      const date = new Date(since);
      if (Number.isNaN(date.getTime())) throw badRequest('Invalid generated-since value');
      filters.generatedSince = date;
    }
    const sortKey = query(request, 'sort_key') ?? 'created_at';
    const sortDir = query(request, 'sort_dir') ?? 'desc';
    if (!SORT_KEYS.includes(sortKey)) throw badRequest(`Invalid sort_key ${sortKey}`);
    if (sortDir !== 'asc' && sortDir !== 'desc') throw badRequest(`Unknown sort direction, must be 'desc' or 'asc'`);
    const rows = await db.haNotifications.list(ctx, filters, { sortKey, sortDir });
    return { notifications: limited(request, rows).map((row) => notificationView(row)) };
  });

  app.get('/notifications/:notification_id', async (request) => {
    const ctx = requireAdmin(request, 'os_masakari_api:notifications:detail');
    const notification = await db.haNotifications.get(ctx, param(request, 'notification_id'));
    const steps = atLeast(request, '1.1') ? await db.haWorkflows.listSteps(ctx, notification.notification_uuid) : undefined;
    return { notification: notificationView(notification, steps) };
  });

  app.get('/notifications/:notification_id/vmoves', async (request) => {
    requireVersion(request, '1.3');
    const ctx = requireAdmin(request, 'os_masakari_api:vmoves:index');
    const notification = await notificationWithVmoves(db, ctx, request);
    const filters: { status?: string; type?: string } = {};
    for (const name of ['status', 'type'] as const) {
      const value = query(request, name);
      if (value !== undefined) filters[name] = value;
    }
    const vmoves = await db.haWorkflows.listVmoves(ctx, notification.notification_uuid, filters);
    return { vmoves: limited(request, vmoves).map(vmoveView) };
  });

  app.get('/notifications/:notification_id/vmoves/:vmove_id', async (request) => {
    requireVersion(request, '1.3');
    const ctx = requireAdmin(request, 'os_masakari_api:vmoves:detail');
    const notification = await notificationWithVmoves(db, ctx, request);
    return { vmove: vmoveView(await db.haWorkflows.getVmove(ctx, notification.notification_uuid, param(request, 'vmove_id'))) };
  });
}

async function notificationWithVmoves(db: Db, ctx: RequestContext, request: FastifyRequest): Promise<HaNotificationRow> {
  const notification = await db.haNotifications.get(ctx, param(request, 'notification_id'));
  if (notification.type !== 'COMPUTE_HOST') throw badRequest(`Notification ${notification.notification_uuid} is of type ${notification.type}: only COMPUTE_HOST notifications have vmoves.`);
  return notification;
}

/**
 * Stores a notification as Masakari's API does: the host must be in a segment (400), the
 * segment enabled (409); a COMPUTE_HOST report of a host on maintenance is 409 unless it
 * repeats a failure already claimed (then it is stored `ignored`).
 */
async function createNotification(db: Db, ctx: RequestContext, input: NotificationInput): Promise<HaNotificationRow> {
  const host = await db.haSegments.findHostByName(ctx, input.hostname);
  if (!host) throw badRequest(`Host with name ${input.hostname} could not be found.`);
  const segment = await db.haSegments.get(ctx, host.failover_segment_id);
  if (!segment.enabled) throw conflict(`Failover segment ${segment.uuid} of host ${host.name} is disabled: notification of type ${input.type} not accepted.`);
  const values = { ...input, source_host_uuid: host.uuid, failover_segment_uuid: segment.uuid };
  const hostFailure = input.type === 'COMPUTE_HOST' && input.payload.event === 'STOPPED';
  if (!hostFailure) {
    if (input.type === 'COMPUTE_HOST' && host.on_maintenance) throw conflict(`Host '${host.name}' is under maintenance.`);
    return db.haNotifications.create(ctx, values);
  }
  const epoch = await failureEpoch(db, ctx, input);
  if (host.on_maintenance && !(await db.haNotifications.failureClaimed(ctx, host.name, epoch))) throw conflict(`Host '${host.name}' is under maintenance.`);
  return db.haNotifications.create(ctx, values, { epoch });
}

/** What identifies one failure of a host: its compute service's last heartbeat, which stops moving when the host dies. */
async function failureEpoch(db: Db, ctx: RequestContext, input: NotificationInput): Promise<string> {
  const [service] = await db.services.list(ctx, { host: input.hostname, binary: 'nova-compute' });
  // last_seen_up, not updated_at: disabling the service (the engine's first step) moves updated_at.
  const heartbeat = service ? (service.last_seen_up ?? service.created_at) : input.generated_time;
  return heartbeat.toISOString();
}
