/**
 * The Compute API's version documents: `GET /` (300, every version) and `GET /v2.1`.
 * Public (no token); they state the microversion range this API serves.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { applyMicroversion, MAX_MICROVERSION, MIN_MICROVERSION } from './microversion.js';

const VERSION_UPDATED = '2013-07-23T11:33:21Z';

/** Registers `/`, `/v2.1` and `/v2.1/`. */
export async function computeVersionRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', async (request, reply) => applyMicroversion(request, reply));
  app.get('/', async (request, reply) => {
    reply.code(300);
    return { versions: [versionDocument(request, 'v2.0'), versionDocument(request, 'v2.1')] };
  });
  for (const path of ['/v2.1', '/v2.1/']) app.get(path, async (request) => ({ version: versionDocument(request, 'v2.1') }));
}

/** Nova's version document for `v2.0` or `v2.1`. */
function versionDocument(request: FastifyRequest, id: 'v2.0' | 'v2.1'): Record<string, unknown> {
  const host = `${request.protocol}://${request.host}`;
  const current = id === 'v2.1';
  return {
    id,
    status: current ? 'CURRENT' : 'SUPPORTED',
    version: current ? MAX_MICROVERSION : '',
    min_version: current ? MIN_MICROVERSION : '',
    updated: current ? VERSION_UPDATED : '2011-01-21T11:33:21Z',
    links: [{ rel: 'self', href: `${host}/${current ? 'v2.1' : 'v2'}/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  };
}
