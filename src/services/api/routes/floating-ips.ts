/**
 * The floating-IP proxy APIs (up to 2.35; 404 from 2.36): /os-floating-ip-pools and
 * /os-floating-ips (allocate from a pool, show, list, deallocate). Allocation and release
 * are the network service's, over RPC; reads come from the database.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Db, FloatingIpRow } from '../../../db/index.js';
import type { RequestContext } from '../../../rpc/index.js';
import { elevated } from '../../context.js';
import type { ApiClients } from '../compute-api.js';
import { badRequest, notFound } from '../faults.js';
import { since } from '../microversion.js';
import { remote } from '../network-actions.js';
import { floatingIpView } from '../resource-views.js';
import { parseBody } from '../schemas.js';
import { contextOf, param } from './context.js';

const PROXY = since(undefined, '2.35');
/** The pool an allocation without `pool` takes from (Nova's default_floating_pool). */
export const DEFAULT_FLOATING_POOL = 'public';

const allocateBody = z.looseObject({ pool: z.string().min(1).max(255).nullish() }).nullish();

/** Registers the floating IP routes. */
export function floatingIpRoutes(app: FastifyInstance, db: Db, network: ApiClients['network']): void {
  const render = async (ctx: RequestContext, row: FloatingIpRow) => {
    const fixed = row.fixed_ip_id === null ? undefined : await db.fixedIps.get(elevated(ctx), row.fixed_ip_id);
    return floatingIpView(row, fixed);
  };
  const floatingId = (text: string) => {
    if (!/^\d+$/.test(text)) throw notFound(`Floating IP not found for ID ${text}`);
    return Number(text);
  };

  app.get('/os-floating-ip-pools', PROXY, async (request) => ({
    floating_ip_pools: (await db.floatingIps.listPools(elevated(contextOf(request)))).map((name) => ({ name })),
  }));

  app.get('/os-floating-ips', PROXY, async (request) => {
    const ctx = contextOf(request);
    const rows = await db.floatingIps.list(ctx, ctx.projectId ?? '');
    return { floating_ips: await Promise.all(rows.map((row) => render(ctx, row))) };
  });

  app.get('/os-floating-ips/:id', PROXY, async (request) => {
    const ctx = contextOf(request);
    return { floating_ip: await render(ctx, await db.floatingIps.get(ctx, floatingId(param(request, 'id')))) };
  });

  app.post('/os-floating-ips', PROXY, async (request) => {
    const ctx = contextOf(request);
    const pool = parseBody(allocateBody, request.body)?.pool ?? DEFAULT_FLOATING_POOL;
    if (!ctx.projectId) throw badRequest('A floating IP is allocated to a project; the request has none.');
    const info = await remote(() => network.allocate_floating_ip(ctx, { project_id: ctx.projectId!, pool }));
    return { floating_ip: { id: info.id, ip: info.address, pool: info.pool, fixed_ip: info.fixed_address, instance_id: info.instance_id } };
  });

  app.delete('/os-floating-ips/:id', PROXY, async (request, reply) => {
    const ctx = contextOf(request);
    const row = await db.floatingIps.get(ctx, floatingId(param(request, 'id')));
    await remote(() => network.deallocate_floating_ip(ctx, { floating_ip_id: row.id }));
    return reply.code(202).send();
  });
}
