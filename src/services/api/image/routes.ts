/**
 * Image v2 (Glance's API) at `/image`, over the cloud's image catalogue: the version list
 * (public), `GET /v2/images` (filters name, status, visibility; `limit`/`marker` paging
 * with a `next` link, newest first as Glance sorts) and `GET /v2/images/{id}` (the bare
 * image object; 404 for an unknown id, so name lookups fall back to `?name=`). The compute
 * microversion header is ignored here.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db, ImageRow, Metadata } from '../../../db/index.js';
import type { RequestContext } from '../../../rpc/index.js';
import { badRequest } from '../faults.js';
import { publicBase } from '../identity/views.js';
import { query } from '../routes/context.js';

/** What the image routes need. */
export interface ImageRouteDeps {
  db: Db;
  /** Resolves the request's token to a context (the Compute API's authenticator). */
  authenticate: (request: FastifyRequest) => Promise<RequestContext>;
  publicEndpoint: string;
}

const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 1000;

/** Registers the image routes (mount with prefix `/image`). */
export function imageRoutes(deps: ImageRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    for (const path of ['/', '/versions']) {
      app.get(path, async (request, reply) => {
        reply.code(path === '/' ? 300 : 200);
        return imageVersions(publicBase(request, deps.publicEndpoint));
      });
    }
    app.get('/v2/images', async (request) => {
      const ctx = await deps.authenticate(request);
      const rows = sortNewestFirst(await deps.db.images.list(ctx, filtersOf(request)));
      const visibility = query(request, 'visibility');
      const visible = visibility ? rows.filter((row) => visibilityOf(row) === visibility) : rows;
      const { page, next } = paginate(visible, request);
      const metadata = await Promise.all(page.map((image) => deps.db.images.getMetadata(ctx, image.uuid)));
      return {
        images: page.map((image, i) => glanceImage(image, metadata[i] ?? {})),
        schema: '/v2/schemas/images',
        first: '/v2/images',
        ...(next ? { next } : {}),
      };
    });
    app.get('/v2/images/:id', async (request) => {
      const ctx = await deps.authenticate(request);
      const id = (request.params as { id: string }).id;
      const image = await deps.db.images.get(ctx, id);
      return glanceImage(image, await deps.db.images.getMetadata(ctx, image.uuid));
    });
  };
}

/** Glance's version list: v2.9 current, older v2.x supported. */
function imageVersions(base: string): Record<string, unknown> {
  const link = [{ rel: 'self', href: `${base}/image/v2/` }];
  return {
    versions: ['2.9', '2.8', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'].map((id, i) => ({ id: `v${id}`, status: i === 0 ? 'CURRENT' : 'SUPPORTED', links: link })),
  };
}

/** A Glance v2 image: the row's fields, then its properties at top level. */
export function glanceImage(image: ImageRow, properties: Metadata): Record<string, unknown> {
  return {
    ...properties,
    id: image.uuid,
    name: image.name,
    status: image.status,
    visibility: visibilityOf(image),
    protected: false,
    os_hidden: false,
    tags: [],
    container_format: image.container_format,
    disk_format: image.disk_format,
    min_disk: image.min_disk,
    min_ram: image.min_ram,
    size: image.size,
    virtual_size: null,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    owner: image.owner,
    created_at: glanceTime(image.created_at),
    updated_at: glanceTime(image.updated_at ?? image.created_at),
    self: `/v2/images/${image.uuid}`,
    file: `/v2/images/${image.uuid}/file`,
    schema: '/v2/schemas/image',
  };
}

function filtersOf(request: FastifyRequest): { name?: string; status?: string } {
  const filters: { name?: string; status?: string } = {};
  const name = query(request, 'name');
  const status = query(request, 'status');
  if (name !== undefined) filters.name = name;
  if (status !== undefined) filters.status = status.toLowerCase();
  return filters;
}

/** One page after `marker`, and the `next` link when more remain. */
function paginate(rows: ImageRow[], request: FastifyRequest): { page: ImageRow[]; next?: string } {
  const limitText = query(request, 'limit');
  if (limitText !== undefined && !/^\d+$/.test(limitText)) throw badRequest('limit param must be an integer');
  const limit = Math.min(limitText === undefined ? DEFAULT_LIMIT : Number(limitText), MAX_LIMIT);
  const marker = query(request, 'marker');
  let start = 0;
  if (marker !== undefined) {
    const index = rows.findIndex((row) => row.uuid === marker);
    if (index < 0) throw badRequest(`Invalid marker. Image ${marker} could not be found.`);
    start = index + 1;
  }
  const page = rows.slice(start, start + limit);
  if (start + limit >= rows.length || page.length === 0) return { page };
  const params = new URLSearchParams(request.query as Record<string, string>);
  params.set('marker', page[page.length - 1]!.uuid);
  params.set('limit', String(limit));
  return { page, next: `/v2/images?${params.toString()}` };
}

function sortNewestFirst(rows: ImageRow[]): ImageRow[] {
  return [...rows].sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || b.uuid.localeCompare(a.uuid));
}

function visibilityOf(image: ImageRow): string {
  return image.is_public ? 'public' : 'private';
}

function glanceTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
