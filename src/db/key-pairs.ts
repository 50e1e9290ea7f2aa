/**
 * Key pairs (Nova's `key_pair_*`): public keys owned by a user, unique by name per user.
 * They are scoped by user, not project: the caller passes the user whose keys it means
 * (the API resolves an admin's `user_id` query first).
 */
import type { DbContext } from './context.js';
import { NotFoundError } from './errors.js';
import { modelQuery, softDeleteChanges, firstOrNotFound } from './model-query.js';
import { rowReader, utcNow } from './rows.js';
import { table, type DbSession } from './session.js';

/** A row of `key_pairs`. */
export interface KeyPairRow {
  id: number;
  name: string;
  user_id: string;
  fingerprint: string;
  public_key: string;
  type: 'ssh' | 'x509';
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
}

/** What a new key pair needs. */
export type NewKeyPair = Pick<KeyPairRow, 'name' | 'user_id' | 'fingerprint' | 'public_key' | 'type'>;

/** Paging of {@link listKeyPairs}. */
export interface KeyPairPage {
  limit?: number;
  /** Name of the last key pair of the previous page. */
  marker?: string;
}

const readKeyPair = rowReader<KeyPairRow>({});

/** Stores a key pair; DuplicateEntry when the user already has one of that name. */
export async function createKeyPair(session: DbSession, _ctx: DbContext, values: NewKeyPair): Promise<KeyPairRow> {
  const row = { ...values, created_at: utcNow(), updated_at: null, deleted_at: null, deleted: 0 };
  const [id] = await table(session, 'key_pairs').insert(row);
  return readKeyPair({ ...row, id: Number(id) });
}

/** The key pair `name` of `userId`; KeyPairNotFound otherwise. */
export async function getKeyPair(session: DbSession, ctx: DbContext, userId: string, name: string): Promise<KeyPairRow> {
  return firstOrNotFound(modelQuery(session, ctx, 'key_pairs').where({ user_id: userId, name }), readKeyPair, () => new NotFoundError('KeyPair', name, `Keypair ${name} not found for user ${userId}`));
}

/** The key pairs of `userId`, by name. */
export async function listKeyPairs(session: DbSession, ctx: DbContext, userId: string, page: KeyPairPage = {}): Promise<KeyPairRow[]> {
  const query = modelQuery(session, ctx, 'key_pairs').where('user_id', userId).orderBy('name');
  if (page.marker !== undefined) {
    await getKeyPair(session, ctx, userId, page.marker).catch(() => {
      throw new NotFoundError('Marker', page.marker!, `marker [${page.marker}] not found`);
    });
    query.where('name', '>', page.marker);
  }
  if (page.limit !== undefined) query.limit(page.limit);
  const rows: unknown[] = await query;
  return rows.map(readKeyPair);
}

/** Soft-deletes the key pair `name` of `userId`; KeyPairNotFound otherwise. */
export async function deleteKeyPair(session: DbSession, ctx: DbContext, userId: string, name: string): Promise<void> {
  const changed = await modelQuery(session, ctx, 'key_pairs').where({ user_id: userId, name }).update(softDeleteChanges(session, utcNow()));
  if (changed === 0) throw new NotFoundError('KeyPair', name, `Keypair ${name} not found for user ${userId}`);
}

/** The key pair db functions, to bind on a Db. */
export const keyPairFunctions = {
  create: createKeyPair,
  get: getKeyPair,
  list: listKeyPairs,
  delete: deleteKeyPair,
};
