/**
 * /os-keypairs: a user's SSH (and, from 2.2, x509) public keys. Created from a given
 * public key, or generated with the private key returned once (until 2.92); `type` and
 * 201/204 codes from 2.2; from 2.10 an admin names the user with `user_id`; paging
 * (`limit`, `marker`) from 2.35.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isDbError, type Db, type KeyPairRow } from '../../../db/index.js';
import { generateSshKeyPair, InvalidKeyError, keyFingerprint } from '../../ssh-keys.js';
import { ApiFault, badRequest, conflict, forbidden } from '../faults.js';
import { isAtLeast, type Microversion } from '../microversion.js';
import { parseBody } from '../schemas.js';
import { isoTime } from '../views.js';
import { baseUrl, contextOf, param, query } from './context.js';

const keypairName = z.string().trim().min(1).max(255).regex(/^[a-zA-Z0-9 _-]+$/, 'Keypair name contains unsafe characters');

const createBody = z.object({
  keypair: z.strictObject({
    name: keypairName,
    public_key: z.string().min(1).optional(),
    type: z.enum(['ssh', 'x509']).optional(),
    user_id: z.string().min(1).optional(),
  }),
});

/** Registers the key pair routes. */
export function keypairRoutes(app: FastifyInstance, db: Db): void {
  app.get('/os-keypairs', async (request) => {
    const ctx = contextOf(request);
    const mv = request.microversion;
    const page = isAtLeast(mv, '2.35') ? pageOf(request) : {};
    const keys = await db.keyPairs.list(ctx, targetUser(request, query(request, 'user_id')), page).catch((error: unknown) => {
      if (isDbError(error, 'MarkerNotFound')) throw badRequest(`marker [${page.marker}] not found`);
      throw error;
    });
    const body: Record<string, unknown> = { keypairs: keys.map((key) => ({ keypair: summary(key, mv) })) };
    if (page.limit !== undefined && keys.length === page.limit && keys.length > 0) {
      body.keypairs_links = [{ rel: 'next', href: `${baseUrl(request)}/os-keypairs?limit=${page.limit}&marker=${encodeURIComponent(keys.at(-1)!.name)}` }];
    }
    return body;
  });

  app.get('/os-keypairs/:name', async (request) => {
    const key = await db.keyPairs.get(contextOf(request), targetUser(request, query(request, 'user_id')), param(request, 'name'));
    return { keypair: { ...summary(key, request.microversion), user_id: key.user_id, created_at: isoTime(key.created_at), updated_at: null, deleted_at: null, deleted: false, id: key.id } };
  });

  app.post('/os-keypairs', async (request, reply) => {
    const ctx = contextOf(request);
    const mv = request.microversion;
    const { keypair } = parseBody(createBody, request.body);
    if (keypair.type !== undefined && !isAtLeast(mv, '2.2')) throw unexpected('type');
    if (keypair.user_id !== undefined && !isAtLeast(mv, '2.10')) throw unexpected('user_id');
    if (keypair.public_key === undefined && isAtLeast(mv, '2.92')) throw badRequest("Invalid input for field/attribute keypair. 'public_key' is a required property");
    const userId = targetUser(request, keypair.user_id);
    const type = keypair.type ?? 'ssh';
    const generated = keypair.public_key === undefined ? generateSshKeyPair() : undefined;
    const publicKey = generated?.publicKey ?? keypair.public_key!.trim();
    let fingerprint: string;
    try {
      fingerprint = generated?.fingerprint ?? keyFingerprint(publicKey, type);
    } catch (error) {
      if (error instanceof InvalidKeyError) throw badRequest(error.message);
      throw error;
    }
    const key = await db.keyPairs.create(ctx, { name: keypair.name, user_id: userId, fingerprint, public_key: publicKey, type }).catch((error: unknown) => {
      if (isDbError(error, 'DuplicateEntry')) throw conflict(`Key pair '${keypair.name}' already exists.`);
      throw error;
    });
    reply.code(isAtLeast(mv, '2.2') ? 201 : 200);
    return { keypair: { ...summary(key, mv), user_id: key.user_id, ...(generated ? { private_key: generated.privateKey } : {}) } };
  });

  app.delete('/os-keypairs/:name', async (request, reply) => {
    await db.keyPairs.delete(contextOf(request), targetUser(request, query(request, 'user_id')), param(request, 'name'));
    return reply.code(isAtLeast(request.microversion, '2.2') ? 204 : 202).send();
  });
}

/** name, public_key, fingerprint (and type from 2.2). */
function summary(key: KeyPairRow, mv: Microversion): Record<string, unknown> {
  return { name: key.name, public_key: key.public_key, fingerprint: key.fingerprint, ...(isAtLeast(mv, '2.2') ? { type: key.type } : {}) };
}

/** The user whose keys a request means: the caller, or (2.10, admin) the one named. */
function targetUser(request: FastifyRequest, named: string | undefined): string {
  const ctx = contextOf(request);
  const own = ctx.userId ?? '';
  if (named === undefined || named === own || !isAtLeast(request.microversion, '2.10')) return own;
  if (!ctx.isAdmin) throw forbidden("Policy doesn't allow os_compute_api:os-keypairs to be performed on another user's key pairs.");
  return named;
}

function pageOf(request: FastifyRequest): { limit?: number; marker?: string } {
  const limit = query(request, 'limit');
  const marker = query(request, 'marker');
  if (limit !== undefined && !/^\d+$/.test(limit)) throw badRequest('limit must be a non-negative integer.');
  return { ...(limit !== undefined ? { limit: Number(limit) } : {}), ...(marker ? { marker } : {}) };
}

function unexpected(field: string): ApiFault {
  return badRequest(`Invalid input for field/attribute keypair. Additional properties are not allowed ('${field}' was unexpected)`);
}
