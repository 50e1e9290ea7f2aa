/** /flavors and /images (nova's image proxy): list, detail, show. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db, FlavorFilters, FlavorRow, ImageRow, Metadata } from '../../../db/index.js';
import { badRequest, notFound } from '../faults.js';
import { isAtLeast } from '../microversion.js';
import { flavorView, imageView } from '../views.js';
import { baseUrl, contextOf, param, query } from './context.js';

/** Registers the flavor and image routes. */
export function catalogueRoutes(app: FastifyInstance, db: Db): void {
  const flavors = async (request: FastifyRequest, detail: boolean) => {
    const filters: FlavorFilters = {};
    const minRam = numberQuery(request, 'minRam');
    const minDisk = numberQuery(request, 'minDisk');
    if (minRam !== undefined) filters.min_memory_mb = minRam;
    if (minDisk !== undefined) filters.min_root_gb = minDisk;
    const isPublic = isPublicQuery(request);
    if (isPublic !== undefined) filters.is_public = isPublic;
    const ctx = contextOf(request);
    const rows = await db.flavors.list(ctx, filters);
    const specs = detail && isAtLeast(request.microversion, '2.61') ? await db.flavorExtras.manyExtraSpecs(ctx, rows.map((flavor) => flavor.id)) : undefined;
    return { flavors: rows.map((flavor) => versionedFlavor(request, flavor, detail, specs?.get(flavor.id))) };
  };
  app.get('/flavors', (request) => flavors(request, false));
  app.get('/flavors/detail', (request) => flavors(request, true));
  app.get('/flavors/:id', async (request) => {
    const ctx = contextOf(request);
    const flavor = await db.flavors.getByFlavorId(ctx, param(request, 'id'));
    if (!flavor.is_public && !ctx.isAdmin && !(await db.flavorExtras.projects(ctx, flavor.id)).includes(ctx.projectId ?? '')) {
      throw notFound(`Flavor ${flavor.flavorid} could not be found.`);
    }
    const specs = isAtLeast(request.microversion, '2.61') ? await db.flavorExtras.extraSpecs(ctx, flavor.id) : undefined;
    return { flavor: versionedFlavor(request, flavor, true, specs) };
  });

  const images = async (request: FastifyRequest, detail: boolean) => {
    const ctx = contextOf(request);
    const filters: { name?: string; status?: string } = {};
    const name = query(request, 'name');
    const status = query(request, 'status');
    if (name) filters.name = name;
    if (status) filters.status = status.toLowerCase();
    const rows = await db.images.list(ctx, filters);
    const metadata = detail ? await Promise.all(rows.map((image) => db.images.getMetadata(ctx, image.uuid))) : [];
    return { images: rows.map((image: ImageRow, i) => imageView(image, metadata[i], baseUrl(request), detail)) };
  };
  app.get('/images', (request) => images(request, false));
  app.get('/images/detail', (request) => images(request, true));
  app.get('/images/:id', async (request) => {
    const ctx = contextOf(request);
    const image = await db.images.get(ctx, param(request, 'id'));
    return { image: imageView(image, await db.images.getMetadata(ctx, image.uuid), baseUrl(request), true) };
  });
}

/** A flavor as the request's microversion shows it: description (2.55), extra_specs (2.61), swap 0 not "" (2.75). */
export function versionedFlavor(request: FastifyRequest, flavor: FlavorRow, detail: boolean, specs: Metadata | undefined): Record<string, unknown> {
  const view = flavorView(flavor, baseUrl(request), detail);
  const version = request.microversion;
  if (isAtLeast(version, '2.55')) view.description = flavor.description ?? null;
  if (!detail) return view;
  if (isAtLeast(version, '2.61')) view.extra_specs = specs ?? {};
  if (isAtLeast(version, '2.75')) view.swap = flavor.swap;
  return view;
}

/** Nova's `?is_public`: default true, `none` for both, else a boolean word. */
function isPublicQuery(request: FastifyRequest): boolean | undefined {
  const value = (query(request, 'is_public') ?? 'true').toLowerCase();
  if (value === 'none') return undefined;
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(value)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(value)) return false;
  throw badRequest(`Invalid is_public filter [${value}]`);
}

function numberQuery(request: FastifyRequest, name: string): number | undefined {
  const value = query(request, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw badRequest(`Invalid ${name} filter [${value}]`);
  return Number(value);
}
