/**
 * /os-availability-zone: the zones of enabled compute services (every user), and
 * /os-availability-zone/detail with each zone's hosts and services (admins; 403 otherwise).
 */
import type { FastifyInstance } from 'fastify';
import { isServiceUp, type Db, type ServiceRow } from '../../../db/index.js';
import type { ServiceConfig } from '../../config.js';
import { isoTime } from '../views.js';
import { contextOf, requireAdmin } from './context.js';

/** Registers the availability zone routes. */
export function availabilityZoneRoutes(app: FastifyInstance, db: Db, config: ServiceConfig): void {
  const up = (service: ServiceRow) => isServiceUp(service, new Date(), config.serviceDownTime);

  app.get('/os-availability-zone', async (request) => {
    const ctx = contextOf(request);
    const computes = (await db.services.list(ctx, { binary: 'nova-compute' })).filter((s) => !s.disabled);
    const zones = new Map<string, boolean>();
    for (const service of computes) zones.set(service.availability_zone, (zones.get(service.availability_zone) ?? false) || up(service));
    return { availabilityZoneInfo: [...zones].map(([zoneName, available]) => ({ zoneName, zoneState: { available }, hosts: null })) };
  });

  app.get('/os-availability-zone/detail', async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-availability-zone:detail');
    const zones = new Map<string, Record<string, Record<string, unknown>>>();
    for (const service of await db.services.list(ctx)) {
      const zone = service.binary === 'nova-compute' ? service.availability_zone : 'internal';
      const hosts = zones.get(zone) ?? {};
      zones.set(zone, hosts);
      hosts[service.host] = { ...hosts[service.host], [service.binary]: { available: up(service), active: !service.disabled, updated_at: isoTime(service.updated_at) } };
    }
    return {
      availabilityZoneInfo: [...zones].map(([zoneName, hosts]) => ({
        zoneName,
        zoneState: { available: Object.values(hosts).some((services) => Object.values(services).some((s) => (s as { available: boolean }).available)) },
        hosts,
      })),
    };
  });
}
