/**
 * The HTTP server of the instance HA API (Masakari v1): version documents, segments,
 * hosts, notifications and vmoves under `/v1` (and `/v1/{project_id}`), authenticated by
 * the same tokens as the Compute API, errors in Masakari's fault shape
 * (`{"badRequest": {"code": 400, "message": ...}}`; a missing token answers as Keystone's
 * middleware does).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../../../db/index.js';
import type { Logger } from '../../../log/logger.js';
import type { ContractClient } from '../../../rpc/contract.js';
import type { Authenticator } from '../../api/auth.js';
import { faultBody, toFault } from '../../api/faults.js';
import { createApiServer } from '../../api/http-server.js';
import type { haEngineContract } from '../engine/contract.js';
import { applyHaVersion, HA_MAX_VERSION, HA_MIN_VERSION } from './microversion.js';
import { notificationRoutes } from './notification-routes.js';
import { segmentRoutes } from './segment-routes.js';

/** What the HA app needs. */
export interface HaAppDeps {
  db: Db;
  logger: Logger;
  authenticate: Authenticator;
  engine: ContractClient<typeof haEngineContract.methods>;
}

const UPDATED = '2016-07-01T11:33:21Z';

/** Builds the fastify app (not listening yet). */
export function buildHaApp(deps: HaAppDeps): FastifyInstance {
  const app = createApiServer(deps.logger, { ignoreTrailingSlash: true });
  app.decorateRequest('haVersion', null as unknown as FastifyRequest['haVersion']);
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-openstack-request-id', request.id);
  });
  app.setErrorHandler((error, request, reply) => {
    const fault = toFault(error);
    if (fault.unexpected) request.log.error({ err: error }, 'unexpected instance HA API error');
    else request.log.info({ status: fault.status, reason: fault.message }, 'request refused');
    if (fault.status === 401) {
      void reply.code(401).header('www-authenticate', 'Keystone uri="identity"');
      return reply.send({ error: { code: 401, title: 'Unauthorized', message: fault.message } });
    }
    return reply.code(fault.status).send(faultBody(fault.status, fault.message));
  });
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send(faultBody(404, 'The resource could not be found.'));
  });

  const base = (request: FastifyRequest) => `${request.protocol}://${request.host}`;
  app.get('/', async (request) => ({ versions: [versionDocument(base(request), 'v1.0')] }));

  const v1 = async (scope: FastifyInstance) => {
    scope.addHook('onRequest', applyHaVersion);
    scope.addHook('preHandler', async (request) => {
      const token = request.headers['x-auth-token'];
      request.novaContext = await deps.authenticate({ token: Array.isArray(token) ? token[0] : token, requestId: request.id, remoteAddress: request.ip });
    });
    scope.get('', async (request) => ({ version: versionDocument(base(request), 'v1') }));
    segmentRoutes(scope, deps.db);
    notificationRoutes(scope, { db: deps.db, engine: deps.engine, logger: deps.logger });
  };
  void app.register(v1, { prefix: '/v1' });
  void app.register(v1, { prefix: '/v1/:project_id' });
  return app;
}

function versionDocument(base: string, id: string): Record<string, unknown> {
  return {
    id,
    status: 'CURRENT',
    version: HA_MAX_VERSION,
    min_version: HA_MIN_VERSION,
    updated: UPDATED,
    links: [{ rel: 'self', href: `${base}/v1/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.masakari+json;version=1' }],
  };
}
