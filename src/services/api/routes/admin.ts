/**
 * Admin-only /os-services: list (?host, ?binary); up to 2.52 PUT /os-services/enable,
 * disable, disable-log-reason and force-down (2.11+) with {host, binary}; from 2.53
 * PUT /os-services/{uuid} with {status, disabled_reason, forced_down}. Also registers
 * /os-hypervisors (hypervisors.ts) and /os-aggregates (aggregates.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isServiceUp, type Db, type ServiceChanges, type ServiceRow } from '../../../db/index.js';
import type { RequestContext } from '../../../rpc/index.js';
import type { ServiceConfig } from '../../config.js';
import { serviceView } from '../admin-views.js';
import { badRequest, notFound } from '../faults.js';
import { isAtLeast } from '../microversion.js';
import { aggregateRoutes } from './aggregates.js';
import { hypervisorRoutes } from './hypervisors.js';
import { param, query, requireAdmin } from './context.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
type Body = Record<string, unknown>;

/** Registers the admin routes. */
export function adminRoutes(app: FastifyInstance, db: Db, config: ServiceConfig): void {
  const up = (service: ServiceRow) => isServiceUp(service, new Date(), config.serviceDownTime);

  app.get('/os-services', async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-services:list');
    const filters: { host?: string; binary?: string } = {};
    const host = query(request, 'host');
    const binary = query(request, 'binary');
    if (host) filters.host = host;
    if (binary) filters.binary = binary;
    const services = await db.services.list(ctx, filters);
    return { services: services.map((service) => serviceView(service, up(service), request.microversion)) };
  });

  app.put('/os-services/:id', async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-services:update');
    const id = param(request, 'id');
    const body = (request.body ?? {}) as Body;
    if (isAtLeast(request.microversion, '2.53')) {
      if (!UUID.test(id)) throw badRequest(`Invalid uuid ${id}`);
      const service = await db.services.getByUuid(ctx, id).catch(() => {
        throw notFound(`Service with id ${id} could not be found.`);
      });
      const updated = await db.services.update(ctx, service.id, uuidUpdate(service, body));
      return { service: serviceView(updated, up(updated), request.microversion) };
    }
    return legacyUpdate(db, ctx, request, id, body);
  });

  hypervisorRoutes(app, db, up);
  aggregateRoutes(app);
}

/** Up to 2.52: PUT /os-services/{enable,disable,disable-log-reason,force-down} with {host, binary}. */
async function legacyUpdate(db: Db, ctx: RequestContext, request: FastifyRequest, action: string, body: Body): Promise<unknown> {
  const known = ['enable', 'disable', 'disable-log-reason'];
  if (isAtLeast(request.microversion, '2.11')) known.push('force-down');
  if (!known.includes(action)) throw notFound('Unknown action');
  if (typeof body.host !== 'string' || typeof body.binary !== 'string') throw badRequest("Invalid input for field/attribute body: 'host' and 'binary' are required strings.");
  const [service] = await db.services.list(ctx, { host: body.host, binary: body.binary });
  if (!service) throw notFound(`Compute host ${body.host} with binary ${body.binary} could not be found.`);
  const identity = { host: service.host, binary: service.binary };
  if (action === 'force-down') {
    if (typeof body.forced_down !== 'boolean') throw badRequest("Invalid input for field/attribute forced_down: 'forced_down' must be a boolean.");
    await db.services.update(ctx, service.id, { forced_down: body.forced_down });
    return { service: { ...identity, forced_down: body.forced_down } };
  }
  if (action === 'enable') {
    await db.services.update(ctx, service.id, { disabled: false, disabled_reason: null });
    return { service: { ...identity, status: 'enabled' } };
  }
  const reason = action === 'disable-log-reason' ? disabledReason(body.disabled_reason, true) : null;
  await db.services.update(ctx, service.id, { disabled: true, disabled_reason: reason });
  return { service: { ...identity, status: 'disabled', ...(reason !== null ? { disabled_reason: reason } : {}) } };
}

/** From 2.53: the changes of PUT /os-services/{uuid}, validated as Nova does. */
function uuidUpdate(service: ServiceRow, body: Body): ServiceChanges {
  const unknown = Object.keys(body).find((key) => !['status', 'disabled_reason', 'forced_down'].includes(key));
  if (unknown) throw badRequest(`Invalid input for field/attribute body. Additional properties are not allowed ('${unknown}' was unexpected)`);
  if (body.status === undefined && body.forced_down === undefined) throw badRequest("At least one of 'status' or 'forced_down' must be specified in the request body.");
  if (service.binary !== 'nova-compute') throw badRequest(`Updating a ${service.binary} service is not supported. Only nova-compute services can be updated.`);
  const changes: ServiceChanges = {};
  if (body.status !== undefined) {
    if (body.status !== 'enabled' && body.status !== 'disabled') throw badRequest(`Invalid input for field/attribute status. Value: ${String(body.status)}. It must be enabled or disabled.`);
    changes.disabled = body.status === 'disabled';
    changes.disabled_reason = body.status === 'disabled' ? disabledReason(body.disabled_reason, false) : null;
  } else if (body.disabled_reason !== undefined) {
    throw badRequest("Specifying 'disabled_reason' without 'status' is invalid.");
  }
  if (body.status === 'enabled' && body.disabled_reason !== undefined) throw badRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.");
  if (body.forced_down !== undefined) {
    if (typeof body.forced_down !== 'boolean') throw badRequest(`Invalid input for field/attribute forced_down. Value: ${String(body.forced_down)}. It must be a boolean.`);
    changes.forced_down = body.forced_down;
  }
  return changes;
}

function disabledReason(value: unknown, required: boolean): string | null {
  if (value === undefined && !required) return null;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 255) throw badRequest('Invalid input for field/attribute disabled_reason: a string of 1 to 255 characters is required.');
  return value;
}
