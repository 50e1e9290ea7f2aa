/** Registers the resources around servers: key pairs, security groups, floating IPs, interfaces, instance actions, diagnostics, tags. */
import type { FastifyInstance } from 'fastify';
import type { ComputeApi } from '../compute-api.js';
import { floatingIpRoutes } from './floating-ips.js';
import { keypairRoutes } from './keypairs.js';
import { securityGroupRoutes } from './security-groups.js';
import { serverExtraRoutes } from './server-extras.js';
import { serverTagRoutes } from './server-tags.js';

/** Registers every server-side resource route on the compute scope. */
export function serverResourceRoutes(app: FastifyInstance, api: ComputeApi): void {
  keypairRoutes(app, api.deps.db);
  securityGroupRoutes(app, api.deps.db);
  floatingIpRoutes(app, api);
  serverExtraRoutes(app, api);
  serverTagRoutes(app, api.deps.db);
}
