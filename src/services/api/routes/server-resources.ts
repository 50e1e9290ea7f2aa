/** Registers the resources around servers: key pairs, security groups, floating IPs, interfaces, instance actions, diagnostics, tags. */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../../db/index.js';
import type { ApiClients } from '../compute-api.js';
import { floatingIpRoutes } from './floating-ips.js';
import { keypairRoutes } from './keypairs.js';
import { securityGroupRoutes } from './security-groups.js';
import { serverExtraRoutes } from './server-extras.js';
import { serverTagRoutes } from './server-tags.js';

/** Registers every server-side resource route on the compute scope. */
export function serverResourceRoutes(app: FastifyInstance, db: Db, clients: ApiClients): void {
  keypairRoutes(app, db);
  securityGroupRoutes(app, db);
  floatingIpRoutes(app, db, clients.network);
  serverExtraRoutes(app, db, clients);
  serverTagRoutes(app, db);
}
