/**
 * Admin-only /os-hypervisors: list and detail (?hypervisor_hostname_pattern from 2.53,
 * ?limit&marker from 2.33), show (integer ids up to 2.52, UUIDs from 2.53; others are not
 * found), uptime and statistics up to 2.87, and /{pattern}/search up to 2.52.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ComputeNodeRow, Db, ServiceRow } from '../../../db/index.js';
import { hypervisorStatistics, hypervisorView } from '../admin-views.js';
import { badRequest, notFound } from '../faults.js';
import { isAtLeast, since } from '../microversion.js';
import { param, query, requireAdmin } from './context.js';

interface Node {
  node: ComputeNodeRow;
  service: ServiceRow | undefined;
}

/** Registers the hypervisor routes; `up` tells whether a service is up. */
export function hypervisorRoutes(app: FastifyInstance, db: Db, up: (service: ServiceRow) => boolean): void {
  const load = async (request: FastifyRequest, policy: string): Promise<Node[]> => {
    const ctx = requireAdmin(request, policy);
    const [nodes, services] = await Promise.all([db.computeNodes.list(ctx), db.services.list(ctx, { binary: 'nova-compute' })]);
    const byHost = new Map(services.map((service) => [service.host, service]));
    return nodes.map((node) => ({ node, service: byHost.get(node.host) }));
  };
  const view = (request: FastifyRequest, { node, service }: Node, detail: boolean) =>
    hypervisorView(node, service, service ? up(service) : false, detail, request.microversion);
  const idOf = (request: FastifyRequest, node: ComputeNodeRow) => String(isAtLeast(request.microversion, '2.53') ? node.uuid : node.id);

  const list = async (request: FastifyRequest, detail: boolean) => {
    let nodes = await load(request, `os_compute_api:os-hypervisors:${detail ? 'list-detail' : 'list'}`);
    const pattern = isAtLeast(request.microversion, '2.53') ? query(request, 'hypervisor_hostname_pattern') : undefined;
    if (pattern !== undefined) {
      nodes = nodes.filter(({ node }) => (node.hypervisor_hostname ?? node.host).includes(pattern));
      if (nodes.length === 0) throw notFound(`No hypervisor matching '${pattern}' could be found.`);
    }
    return { hypervisors: page(request, nodes, idOf).map((entry) => view(request, entry, detail)) };
  };
  app.get('/os-hypervisors', (request) => list(request, false));
  app.get('/os-hypervisors/detail', (request) => list(request, true));
  app.get('/os-hypervisors/statistics', since(undefined, '2.87'), async (request) => ({
    hypervisor_statistics: hypervisorStatistics((await load(request, 'os_compute_api:os-hypervisors:statistics')).map(({ node }) => node)),
  }));
  app.get('/os-hypervisors/:id/search', since(undefined, '2.52'), async (request) => {
    const pattern = param(request, 'id');
    const found = (await load(request, 'os_compute_api:os-hypervisors:search')).filter(({ node }) => (node.hypervisor_hostname ?? node.host).includes(pattern));
    if (found.length === 0) throw notFound(`No hypervisor matching '${pattern}' could be found.`);
    return { hypervisors: found.map((entry) => view(request, entry, false)) };
  });
  const find = async (request: FastifyRequest, policy: string): Promise<Node> => {
    const id = param(request, 'id');
    const found = (await load(request, policy)).find(({ node }) => idOf(request, node) === id);
    if (!found) throw notFound(`Hypervisor with ID '${id}' could not be found.`);
    return found;
  };
  app.get('/os-hypervisors/:id', async (request) => ({ hypervisor: view(request, await find(request, 'os_compute_api:os-hypervisors:show'), true) }));
  app.get('/os-hypervisors/:id/uptime', since(undefined, '2.87'), async (request) => {
    const found = await find(request, 'os_compute_api:os-hypervisors:uptime');
    return { hypervisor: { ...view(request, found, false), uptime: uptimeLine(found.service, new Date()) } };
  });
}

/**
 * The `uptime` line of a host, as `uptime(1)` prints it: the time, how long the compute
 * service has been running (from its row's creation), no users, no load (a fake hypervisor).
 */
function uptimeLine(service: ServiceRow | undefined, now: Date): string {
  const minutes = service ? Math.max(0, Math.floor((now.getTime() - service.created_at.getTime()) / 60_000)) : 0;
  const days = Math.floor(minutes / 1440);
  const clock = `${Math.floor((minutes % 1440) / 60)}:${String(minutes % 60).padStart(2, '0')}`;
  return ` ${now.toISOString().slice(11, 19)} up ${days > 0 ? `${days} days, ` : ''}${clock},  0 users,  load average: 0.00, 0.00, 0.00`;
}

/** `?limit` and `?marker` (an id as the microversion shows them), from 2.33. */
function page(request: FastifyRequest, nodes: Node[], idOf: (request: FastifyRequest, node: ComputeNodeRow) => string): Node[] {
  if (!isAtLeast(request.microversion, '2.33')) return nodes;
  const marker = query(request, 'marker');
  const limitText = query(request, 'limit');
  let start = 0;
  if (marker !== undefined) {
    const index = nodes.findIndex(({ node }) => idOf(request, node) === marker);
    if (index < 0) throw badRequest(`marker [${marker}] not found`);
    start = index + 1;
  }
  if (limitText !== undefined && !/^\d+$/.test(limitText)) throw badRequest(`Invalid input for query parameters limit. Value: ${limitText}.`);
  return nodes.slice(start, limitText === undefined ? undefined : start + Number(limitText));
}
