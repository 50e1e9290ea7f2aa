/**
 * Metadata of servers (/servers/{id}/metadata) and images (/images/{id}/metadata):
 * GET all, PUT (replace), POST (merge), and GET/PUT/DELETE of one key.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db, Metadata } from '../../../db/index.js';
import type { RequestContext } from '../../../rpc/index.js';
import { badRequest, notFound } from '../faults.js';
import { metadataBody, metaItemBody, parseBody } from '../schemas.js';
import { contextOf, param } from './context.js';

/** How one kind of resource stores its metadata. */
interface MetadataStore {
  get(ctx: RequestContext, id: string): Promise<Metadata>;
  update(ctx: RequestContext, id: string, metadata: Metadata, replace: boolean): Promise<Metadata>;
  deleteKey(ctx: RequestContext, id: string, key: string): Promise<void>;
}

/** Registers the metadata routes of servers and images. */
export function metadataRoutes(app: FastifyInstance, db: Db): void {
  register(app, '/servers/:id/metadata', {
    get: (ctx, id) => db.instanceMetadata.get(ctx, id),
    update: (ctx, id, metadata, replace) => db.instanceMetadata.update(ctx, id, metadata, { replace }),
    deleteKey: (ctx, id, key) => db.instanceMetadata.deleteKey(ctx, id, key),
  });
  register(app, '/images/:id/metadata', {
    get: (ctx, id) => db.images.getMetadata(ctx, id),
    update: (ctx, id, metadata, replace) => db.images.updateMetadata(ctx, id, metadata, { replace }),
    deleteKey: (ctx, id, key) => db.images.deleteMetadataKey(ctx, id, key),
  });
}

function register(app: FastifyInstance, path: string, store: MetadataStore): void {
  const ids = (request: FastifyRequest) => ({ ctx: contextOf(request), id: param(request, 'id') });

  app.get(path, async (request) => {
    const { ctx, id } = ids(request);
    return { metadata: await store.get(ctx, id) };
  });
  app.put(path, async (request) => {
    const { ctx, id } = ids(request);
    const { metadata } = parseBody(metadataBody, request.body);
    return { metadata: await store.update(ctx, id, metadata, true) };
  });
  app.post(path, async (request) => {
    const { ctx, id } = ids(request);
    const { metadata } = parseBody(metadataBody, request.body);
    return { metadata: await store.update(ctx, id, metadata, false) };
  });
  app.get(`${path}/:key`, async (request) => {
    const { ctx, id } = ids(request);
    const key = param(request, 'key');
    const metadata = await store.get(ctx, id);
    if (!Object.hasOwn(metadata, key)) throw notFound(`Metadata item was not found: ${key}`);
    return { meta: { [key]: metadata[key] } };
  });
  app.put(`${path}/:key`, async (request) => {
    const { ctx, id } = ids(request);
    const key = param(request, 'key');
    const { meta } = parseBody(metaItemBody, request.body);
    const keys = Object.keys(meta);
    if (keys.length !== 1) throw badRequest('Request body must contain exactly one metadata item in "meta".');
    if (keys[0] !== key) throw badRequest('Request body and URI mismatch');
    const metadata = await store.update(ctx, id, meta, false);
    return { meta: { [key]: metadata[key] } };
  });
  app.delete(`${path}/:key`, async (request, reply) => {
    const { ctx, id } = ids(request);
    await store.deleteKey(ctx, id, param(request, 'key'));
    return reply.code(204).send();
  });
}
