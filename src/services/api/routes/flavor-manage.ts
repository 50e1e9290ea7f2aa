/**
 * Admin flavor management: POST /flavors (create, private with `os-flavor-access:is_public`
 * false), PUT /flavors/{id} (description, 2.55+), DELETE /flavors/{id}.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { isDbError, type Db, type NewFlavor } from '../../../db/index.js';
import { badRequest, conflict } from '../faults.js';
import { isAtLeast, since } from '../microversion.js';
import { versionedFlavor } from './catalogue.js';
import { param, requireAdmin } from './context.js';

type Body = Record<string, unknown>;

/** Registers the flavor-manage routes. */
export function flavorManageRoutes(app: FastifyInstance, db: Db): void {
  app.post('/flavors', async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-flavor-manage:create');
    const values = parseNewFlavor((request.body as { flavor?: unknown } | undefined)?.flavor, isAtLeast(request.microversion, '2.55'));
    const flavor = await db.flavors.create(ctx, values).catch((error: unknown) => {
      if (isDbError(error) && error.code === 'DuplicateEntry') throw conflict(`Flavor with name ${values.name} or ID ${values.flavorid} already exists.`);
      throw error;
    });
    return { flavor: versionedFlavor(request, flavor, true, {}) };
  });

  app.put('/flavors/:id', since('2.55'), async (request) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-flavor-manage:update');
    const body = (request.body as { flavor?: Body } | undefined)?.flavor;
    if (!body || !('description' in body) || Object.keys(body).length !== 1) throw badRequest("Invalid input for field/attribute flavor. 'description' is a required property");
    const flavor = await db.flavors.getByFlavorId(ctx, param(request, 'id'));
    const updated = await db.flavors.updateDescription(ctx, flavor.id, description(body.description));
    return { flavor: versionedFlavor(request, updated, true, await db.flavorExtras.extraSpecs(ctx, updated.id)) };
  });

  app.delete('/flavors/:id', async (request, reply) => {
    const ctx = requireAdmin(request, 'os_compute_api:os-flavor-manage:delete');
    const flavor = await db.flavors.getByFlavorId(ctx, param(request, 'id'));
    await db.flavors.destroy(ctx, flavor.id);
    void reply.code(202);
    return '';
  });
}

/** The `flavor` of POST /flavors, validated as Nova's schema does. */
function parseNewFlavor(value: unknown, allowDescription: boolean): NewFlavor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest("Invalid input for field/attribute flavor. 'flavor' is a required property");
  const body = value as Body;
  if (typeof body.name !== 'string' || body.name.trim() === '' || body.name.length > 255) throw badRequest('Invalid input for field/attribute name: a string of 1 to 255 characters is required.');
  const id = body.id === undefined || body.id === null || body.id === 'auto' ? randomUUID() : body.id;
  if (typeof id !== 'string' || !/^[\w.\- ]{1,255}$/.test(id)) throw badRequest(`Invalid input for field/attribute id. Value: ${String(body.id)}.`);
  if (!allowDescription && 'description' in body) throw badRequest("Invalid input for field/attribute flavor. Additional properties are not allowed ('description' was unexpected)");
  const isPublic = body['os-flavor-access:is_public'] ?? true;
  if (typeof isPublic !== 'boolean') throw badRequest('Invalid input for field/attribute os-flavor-access:is_public: must be a boolean.');
  const rxtx = body.rxtx_factor ?? 1;
  if (typeof rxtx !== 'number' || !(rxtx > 0)) throw badRequest('Invalid input for field/attribute rxtx_factor: must be a number > 0.');
  return {
    name: body.name.trim(),
    flavorid: id,
    memory_mb: integer(body.ram, 'ram', 1),
    vcpus: integer(body.vcpus, 'vcpus', 1),
    root_gb: integer(body.disk, 'disk', 0),
    ephemeral_gb: integer(body['OS-FLV-EXT-DATA:ephemeral'] ?? 0, 'OS-FLV-EXT-DATA:ephemeral', 0),
    swap: integer(body.swap === '' ? 0 : (body.swap ?? 0), 'swap', 0),
    rxtx_factor: rxtx,
    is_public: isPublic,
    description: description(body.description ?? null),
  };
}

function integer(value: unknown, name: string, minimum: number): number {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < minimum || number > 2147483647) {
    throw badRequest(`Invalid input for field/attribute ${name}. Value: ${String(value)}. It must be an integer >= ${minimum}.`);
  }
  return number;
}

function description(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string' || value.length > 65535) throw badRequest('Invalid input for field/attribute description: a string of at most 65535 characters or null.');
  return value;
}
