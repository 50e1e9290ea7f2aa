/**
 * Sub-resources of a server: os-interface (list, show, attach with net_id or port_id and
 * fixed_ips → 200, detach → 202; the network service allocates and frees the address),
 * os-instance-actions (list and show with events; paging from 2.58) and diagnostics
 * (admin; the standardized form from 2.48, the older free form before).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Db, InstanceRow, NetworkRow } from '../../../db/index.js';
import type { RequestContext } from '../../../rpc/index.js';
import { elevated } from '../../context.js';
import { VmState } from '../../states.js';
import { requireState } from '../action-kit.js';
import { refuseIfLocked, type ApiClients } from '../compute-api.js';
import { diagnosticsView } from '../diagnostics-view.js';
import { badRequest, conflict, notFound } from '../faults.js';
import { isAtLeast } from '../microversion.js';
import { remote } from '../network-actions.js';
import { instanceActionEventView, instanceActionView, interfaceView } from '../resource-views.js';
import { parseBody } from '../schemas.js';
import { contextOf, param, query, requireAdmin } from './context.js';

const attachBody = z.object({
  interfaceAttachment: z
    .looseObject({
      net_id: z.string().min(1).optional(),
      port_id: z.string().min(1).optional(),
      fixed_ips: z.array(z.object({ ip_address: z.ipv4() })).max(1).optional(),
    })
    .default({}),
});

/** Registers the server sub-resource routes. */
export function serverExtraRoutes(app: FastifyInstance, db: Db, clients: Pick<ApiClients, 'compute' | 'network'>): void {
  const instanceOf = (request: FastifyRequest) => db.instances.get(contextOf(request), param(request, 'id'));
  const networks = async (request: FastifyRequest) => new Map((await db.networks.list(elevated(contextOf(request)))).map((n) => [n.id, n] as const));
  const interfaces = async (request: FastifyRequest, instance: InstanceRow) => {
    const [ips, byId] = await Promise.all([db.fixedIps.listByInstance(elevated(contextOf(request)), instance.uuid), networks(request)]);
    return ips.map((ip) => interfaceView(ip, byId.get(ip.network_id)));
  };

  app.get('/servers/:id/os-interface', async (request) => ({ interfaceAttachments: await interfaces(request, await instanceOf(request)) }));

  app.get('/servers/:id/os-interface/:port', async (request) => {
    const found = (await interfaces(request, await instanceOf(request))).find((view) => view.port_id === param(request, 'port'));
    if (!found) throw notFound(`Instance ${param(request, 'id')} is not attached to port ${param(request, 'port')}.`);
    return { interfaceAttachment: found };
  });

  app.post('/servers/:id/os-interface', async (request) => {
    const ctx = contextOf(request);
    const instance = await instanceOf(request);
    refuseIfLocked(ctx, instance);
    requireState(instance, 'attach_interface', [VmState.ACTIVE, VmState.STOPPED]);
    const { interfaceAttachment: wanted } = parseBody(attachBody, request.body);
    if (wanted.net_id && wanted.port_id) throw badRequest('Must not input both network_id and port_id');
    if (wanted.port_id) await refusePort(db, ctx, wanted.port_id);
    const network = await networkByUuid(request, wanted.net_id);
    const info = await remote(() =>
      clients.network.allocate_interface(ctx, { instance_id: instance.uuid, host: instance.host, network_id: network?.id ?? null, address: wanted.fixed_ips?.[0]?.ip_address ?? null }),
    );
    await db.instanceActions.start(ctx, instance.uuid, 'attach_interface');
    const row = await db.fixedIps.getByAddress(elevated(ctx), info.address);
    return { interfaceAttachment: interfaceView(row, (await networks(request)).get(row.network_id)) };
  });

  app.delete('/servers/:id/os-interface/:port', async (request, reply) => {
    const ctx = contextOf(request);
    const instance = await instanceOf(request);
    refuseIfLocked(ctx, instance);
    await remote(() => clients.network.deallocate_interface(ctx, { instance_id: instance.uuid, port_id: param(request, 'port') }));
    await db.instanceActions.start(ctx, instance.uuid, 'detach_interface');
    return reply.code(202).send();
  });

  app.get('/servers/:id/os-instance-actions', async (request) => {
    const ctx = contextOf(request);
    const mv = request.microversion;
    let actions = await db.instanceActions.list(ctx, param(request, 'id'));
    const body: Record<string, unknown> = {};
    if (isAtLeast(mv, '2.58')) {
      const marker = query(request, 'marker');
      if (marker) {
        const at = actions.findIndex((row) => row.request_id === marker);
        if (at < 0) throw badRequest(`Marker ${marker} could not be found.`);
        actions = actions.slice(at + 1);
      }
      const limit = query(request, 'limit');
      if (limit !== undefined) {
        if (!/^\d+$/.test(limit)) throw badRequest('limit must be a non-negative integer.');
        if (actions.length > Number(limit)) {
          actions = actions.slice(0, Number(limit));
          body.links = [{ rel: 'next', href: `${request.protocol}://${request.host}${request.url.split('?')[0]}?limit=${limit}&marker=${actions.at(-1)?.request_id ?? ''}` }];
        }
      }
    }
    return { instanceActions: actions.map((row) => instanceActionView(row, mv)), ...body };
  });

  app.get('/servers/:id/os-instance-actions/:request_id', async (request) => {
    const ctx = contextOf(request);
    const actions = await db.instanceActions.list(ctx, param(request, 'id'));
    const found = actions.find((row) => row.request_id === param(request, 'request_id'));
    if (!found) throw notFound(`Action for request_id ${param(request, 'request_id')} on instance ${param(request, 'id')} not found`);
    const events = await db.instanceActions.listEvents(ctx, found.id);
    const hostId = (host: string) => createHash('sha224').update(`${found.project_id ?? ''}${host}`).digest('hex');
    const mv = request.microversion;
    return { instanceAction: { ...instanceActionView(found, mv), events: events.map((event) => instanceActionEventView(event, mv, ctx.isAdmin, hostId)) } };
  });

  app.get('/servers/:id/diagnostics', async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-server-diagnostics');
    const instance = await instanceOf(request);
    if (!instance.host) throw conflict(`Cannot 'get_diagnostics' instance ${instance.uuid} while it is in vm_state ${instance.vm_state}`);
    const { diagnostics } = await clients.compute.prepare({ server: instance.host }).get_diagnostics(ctx, { instance_id: instance.uuid });
    if (!diagnostics) throw conflict(`Instance ${instance.uuid} is not running on host ${instance.host}.`);
    const ips = await db.fixedIps.listByInstance(elevated(ctx), instance.uuid);
    return diagnosticsView(instance, diagnostics, ips, request.microversion);
  });

  /** The network a request names by uuid (the default one when none). */
  async function networkByUuid(request: FastifyRequest, uuid: string | undefined): Promise<NetworkRow | undefined> {
    if (!uuid) return undefined;
    const found = [...(await networks(request)).values()].find((network) => network.uuid === uuid);
    if (!found) throw notFound(`Network ${uuid} could not be found.`);
    return found;
  }
}

/**
 * A port must exist and be free to attach; the reference cloud has no unbound ports (no
 * ports API), so a known port is in use (409) and an unknown one is not found (404).
 */
async function refusePort(db: Db, ctx: RequestContext, portId: string): Promise<never> {
  const row = await db.fixedIps.getByPort(elevated(ctx), portId);
  throw conflict(`Port ${portId} is still in use by instance ${row.instance_uuid}.`);
}
