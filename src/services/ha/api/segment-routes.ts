/** /segments and /segments/{segment_id}/hosts of the instance HA API (admin only, as Masakari's policies). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFoundError, type Db, type HaHostFilters, type HaSegmentFilters } from '../../../db/index.js';
import { badRequest, conflict } from '../../api/faults.js';
import { param, query, requireAdmin } from '../../api/routes/context.js';
import { atLeast } from './microversion.js';
import { boolean, parseHost, parseSegment, RECOVERY_METHODS } from './validation.js';
import { hostView, segmentView } from './views.js';

const COMPUTE_BINARY = 'nova-compute';

/** Registers the segment and host routes. */
export function segmentRoutes(app: FastifyInstance, db: Db): void {
  const withEnabled = (request: FastifyRequest) => atLeast(request, '1.2');

  app.get('/segments', async (request) => {
    const ctx = requireAdmin(request, 'os_masakari_api:segments:index');
    const filters: HaSegmentFilters = {};
    const method = query(request, 'recovery_method');
    if (method !== undefined) {
      if (!(RECOVERY_METHODS as readonly string[]).includes(method)) throw badRequest(`Invalid recovery_method filter [${method}]`);
      filters.recovery_method = method;
    }
    const serviceType = query(request, 'service_type');
    if (serviceType !== undefined) filters.service_type = serviceType;
    const enabled = query(request, 'enabled');
    if (enabled !== undefined && withEnabled(request)) filters.enabled = boolean('enabled', enabled);
    const segments = limited(request, await db.haSegments.list(ctx, filters));
    return { segments: segments.map((segment) => segmentView(segment, withEnabled(request))) };
  });

  app.post('/segments', async (request, reply) => {
    const ctx = requireAdmin(request, 'os_masakari_api:segments:create');
    const input = parseSegment(request.body, 'create', withEnabled(request));
    await uniqueSegmentName(db, ctx, input.name!);
    const segment = await db.haSegments.create(ctx, { name: input.name!, service_type: input.service_type!, recovery_method: input.recovery_method!, description: input.description ?? null, enabled: input.enabled ?? true });
    void reply.code(201);
    return { segment: segmentView(segment, withEnabled(request)) };
  });

  app.get('/segments/:segment_id', async (request) => {
    const ctx = requireAdmin(request, 'os_masakari_api:segments:detail');
    return { segment: segmentView(await db.haSegments.get(ctx, param(request, 'segment_id')), withEnabled(request)) };
  });

  app.put('/segments/:segment_id', async (request) => {
    const ctx = requireAdmin(request, 'os_masakari_api:segments:update');
    const uuid = param(request, 'segment_id');
    await db.haSegments.get(ctx, uuid);
    const input = parseSegment(request.body, 'update', withEnabled(request));
    if (input.name !== undefined) await uniqueSegmentName(db, ctx, input.name, uuid);
    return { segment: segmentView(await db.haSegments.update(ctx, uuid, input), withEnabled(request)) };
  });

  app.delete('/segments/:segment_id', async (request, reply) => {
    const ctx = requireAdmin(request, 'os_masakari_api:segments:delete');
    await db.haSegments.delete(ctx, param(request, 'segment_id'));
    void reply.code(204);
  });

  app.get('/segments/:segment_id/hosts', async (request) => {
    const ctx = requireAdmin(request, 'os_masakari_api:os-hosts:index');
    const segment = await db.haSegments.get(ctx, param(request, 'segment_id'));
    const filters: HaHostFilters = { failover_segment_id: segment.uuid };
    const type = query(request, 'type');
    if (type !== undefined) filters.type = type;
    for (const flag of ['reserved', 'on_maintenance'] as const) {
      const value = query(request, flag);
      if (value !== undefined) filters[flag] = boolean(flag, value);
    }
    const hosts = limited(request, await db.haSegments.listHosts(ctx, filters));
    return { hosts: hosts.map((host) => hostView(host, segment, withEnabled(request))) };
  });

  app.post('/segments/:segment_id/hosts', async (request, reply) => {
    const ctx = requireAdmin(request, 'os_masakari_api:os-hosts:create');
    const segment = await db.haSegments.get(ctx, param(request, 'segment_id'));
    const input = parseHost(request.body, 'create');
    await requireComputeHost(db, ctx, input.name!);
    if (await db.haSegments.findHostByName(ctx, input.name!)) throw conflict(`Host with name ${input.name} already exists.`);
    const host = await db.haSegments.createHost(ctx, { ...input, name: input.name!, failover_segment_id: segment.uuid });
    void reply.code(201);
    return { host: hostView(host, segment, withEnabled(request)) };
  });

  app.get('/segments/:segment_id/hosts/:host_id', async (request) => {
    const ctx = requireAdmin(request, 'os_masakari_api:os-hosts:detail');
    const { segment, host } = await hostInSegment(db, ctx, request);
    return { host: hostView(host, segment, withEnabled(request)) };
  });

  app.put('/segments/:segment_id/hosts/:host_id', async (request) => {
    const ctx = requireAdmin(request, 'os_masakari_api:os-hosts:update');
    const { segment, host } = await hostInSegment(db, ctx, request);
    const input = parseHost(request.body, 'update');
    if (input.name !== undefined && input.name !== host.name) {
      await requireComputeHost(db, ctx, input.name);
      if (await db.haSegments.findHostByName(ctx, input.name)) throw conflict(`Host with name ${input.name} already exists.`);
    }
    return { host: hostView(await db.haSegments.updateHost(ctx, host.uuid, input), segment, withEnabled(request)) };
  });

  app.delete('/segments/:segment_id/hosts/:host_id', async (request, reply) => {
    const ctx = requireAdmin(request, 'os_masakari_api:os-hosts:delete');
    const { host } = await hostInSegment(db, ctx, request);
    await db.haSegments.deleteHost(ctx, host.uuid);
    void reply.code(204);
  });
}

type Ctx = ReturnType<typeof requireAdmin>;

async function uniqueSegmentName(db: Db, ctx: Ctx, name: string, except?: string): Promise<void> {
  const clash = (await db.haSegments.list(ctx)).find((segment) => segment.name === name && segment.uuid !== except);
  if (clash) throw conflict(`Failover segment with name ${name} already exists.`);
}

/** A host may join a segment only when a compute service runs on it (Masakari asks Nova). */
async function requireComputeHost(db: Db, ctx: Ctx, name: string): Promise<void> {
  const services = await db.services.list(ctx, { host: name, binary: COMPUTE_BINARY });
  if (services.length === 0) throw badRequest(`Compute service of host ${name} could not be found.`);
}

async function hostInSegment(db: Db, ctx: Ctx, request: FastifyRequest) {
  const segment = await db.haSegments.get(ctx, param(request, 'segment_id'));
  const host = await db.haSegments.getHost(ctx, param(request, 'host_id'));
  if (host.failover_segment_id !== segment.uuid) throw new NotFoundError('HaHost', host.uuid, `Host with id ${host.uuid} could not be found.`);
  return { segment, host };
}

/** `limit` and `marker` (a uuid) paging over an ordered list. */
export function limited<T extends { uuid?: string; notification_uuid?: string }>(request: FastifyRequest, rows: T[]): T[] {
  const marker = query(request, 'marker');
  let start = 0;
  if (marker !== undefined) {
    const index = rows.findIndex((row) => (row.uuid ?? row.notification_uuid) === marker);
    if (index < 0) throw badRequest(`Marker ${marker} could not be found.`);
    start = index + 1;
  }
  const limitText = query(request, 'limit');
  if (limitText !== undefined && !/^\d+$/.test(limitText)) throw badRequest('limit param must be an integer');
  return rows.slice(start, limitText === undefined ? undefined : start + Number(limitText));
}
