/**
 * The HTTP server of the Compute API v2.1 (fastify + pino). Every request gets a
 * request_id (`req-<uuid>`, answered in `x-openstack-request-id`) that becomes the
 * RequestContext's and so travels through every RPC hop and log line. Errors are the
 * Compute API's JSON fault bodies; stack traces stay in the log.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import type { ServiceConfig } from '../config.js';
import type { Authenticator } from './auth.js';
import type { ApiClients, ComputeApi } from './compute-api.js';
import { ApiFault, faultBody, toFault } from './faults.js';
import { createApiServer } from './http-server.js';
import { identityRoutes } from './identity/routes.js';
import type { IdentityService } from './identity/tokens.js';
import { imageRoutes } from './image/routes.js';
import { adminRoutes } from './routes/admin.js';
import { availabilityZoneRoutes } from './routes/availability-zones.js';
import { catalogueRoutes } from './routes/catalogue.js';
import { flavorExtraRoutes } from './routes/flavor-extras.js';
import { flavorManageRoutes } from './routes/flavor-manage.js';
import { param } from './routes/context.js';
import { applyMicroversion, checkRouteRange, type Microversion } from './microversion.js';
import { metadataRoutes } from './routes/metadata.js';
import { defaultQuotas } from './quotas.js';
import { quotaRoutes } from './routes/quotas.js';
import { serverResourceRoutes } from './routes/server-resources.js';
import { serverRoutes } from './routes/servers.js';
import { computeVersionRoutes } from './versions.js';

/** What the HTTP app needs. */
export interface ApiAppDeps {
  api: ComputeApi;
  /** The other services' clients, for the routes that send an RPC themselves. */
  clients: ApiClients;
  db: Db;
  config: ServiceConfig;
  logger: Logger;
  authenticate: Authenticator;
  /** The built-in Identity endpoint, served at /identity when present. */
  identity?: IdentityService | undefined;
}

const REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Builds the fastify app (not listening yet). */
export function buildApiApp(deps: ApiAppDeps): FastifyInstance {
  const app = createApiServer(deps.logger);
  app.decorateRequest('microversion', null as unknown as Microversion);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-openstack-request-id', request.id);
    reply.header('x-compute-request-id', request.id);
  });
  app.setErrorHandler((error, request, reply) => {
    const fault = toFault(error);
    if (fault.unexpected) request.log.error({ err: error }, 'unexpected API error');
    else if (fault.status >= 500) request.log.warn({ status: fault.status, reason: fault.message, cause: (error as Error).message }, 'request failed');
    else request.log.info({ status: fault.status, reason: fault.message }, 'request refused');
    void reply.code(fault.status).send(faultBody(fault.status, fault.message));
  });
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send(faultBody(404, 'The resource could not be found.'));
  });

  const authenticate = (request: FastifyRequest) =>
    Promise.resolve(
      deps.authenticate({ token: header(request, 'x-auth-token'), requestId: request.id, globalRequestId: globalRequestId(request), remoteAddress: request.ip }),
    );
  const publicEndpoint = deps.config.api.publicEndpoint;
  void app.register(computeVersionRoutes);
  const extraCatalog = deps.config.ha.enabled ? instanceHaCatalog(deps.config) : undefined;
  if (deps.identity) void app.register(identityRoutes({ identity: deps.identity, publicEndpoint, extraCatalog }), { prefix: '/identity' });
  void app.register(imageRoutes({ db: deps.db, authenticate, publicEndpoint }), { prefix: '/image' });
  const compute = async (scope: FastifyInstance) => {
    scope.addHook('onRequest', async (request, reply) => applyMicroversion(request, reply));
    scope.addHook('preHandler', async (request) => {
      const context = await authenticate(request);
      const pathProject = param(request, 'project_id');
      if (pathProject && pathProject !== context.projectId && !context.isAdmin) {
        throw new ApiFault(400, `Malformed request URL: URL's project_id '${pathProject}' doesn't match Context's project_id '${context.projectId}'`);
      }
      request.novaContext = context;
      request.log = request.log.child({ user_id: context.userId, project_id: context.projectId });
    });
    scope.addHook('preHandler', async (request) => checkRouteRange(request));
    serverRoutes(scope, { api: deps.api, db: deps.db, clients: deps.clients, logger: deps.logger });
    metadataRoutes(scope, deps.db);
    catalogueRoutes(scope, deps.db);
    adminRoutes(scope, deps.db, deps.config);
    serverResourceRoutes(scope, deps.db, deps.clients);
    quotaRoutes(scope, deps.db, defaultQuotas(deps.config.quota));
    availabilityZoneRoutes(scope, deps.db, deps.config);
    flavorExtraRoutes(scope, deps.db);
    flavorManageRoutes(scope, deps.db);
  };
  void app.register(compute, { prefix: '/v2.1' });
  void app.register(compute, { prefix: '/v2.1/:project_id' });
  return app;
}

/** The catalog's `instance-ha` entry: `[ha] public_endpoint`, or the API's host on `[ha] listen_port`, then /v1. */
function instanceHaCatalog(config: ServiceConfig) {
  return (base: string) => {
    const url = new URL(base);
    const haBase = (config.ha.publicEndpoint || `${url.protocol}//${url.hostname}:${config.ha.port}`).replace(/\/+$/, '');
    return [{ type: 'instance-ha', name: 'masakari', url: `${haBase}/v1` }];
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function globalRequestId(request: FastifyRequest): string | null {
  const value = header(request, 'x-openstack-request-id');
  return value && REQUEST_ID.test(value) ? value : null;
}
