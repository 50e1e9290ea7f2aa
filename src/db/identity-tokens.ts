/**
 * Tokens issued by the built-in Identity endpoint. Only the SHA-256 of a token is stored;
 * callers hand in the hash (see `hashToken` in the identity module). Shared by every API
 * process on the database, so a token issued by one is valid (and revoked) on all.
 */
import type { DbContext } from './context.js';
import { rowReader } from './rows.js';
import { table, type DbSession } from './session.js';

/** A row of `identity_tokens`. */
export interface IdentityTokenRow {
  id: number;
  token_hash: string;
  audit_id: string;
  user_name: string;
  project_name: string;
  is_admin: boolean;
  /** Comma-separated auth methods (`password`, `token`). */
  methods: string;
  issued_at: Date;
  expires_at: Date;
}

/** Columns of a new token. */
export type NewIdentityToken = Omit<IdentityTokenRow, 'id'>;

const readToken = rowReader<IdentityTokenRow>({ dates: ['issued_at', 'expires_at'], booleans: ['is_admin'] });

/** Stores a token; returns its row. */
export async function createIdentityToken(session: DbSession, _ctx: DbContext, values: NewIdentityToken): Promise<IdentityTokenRow> {
  const [id] = await table(session, 'identity_tokens').insert(values);
  return { ...values, id: Number(id) };
}

/** The live (unexpired at `now`) token with this hash, or undefined. */
export async function findLiveIdentityToken(session: DbSession, _ctx: DbContext, tokenHash: string, now: Date = new Date()): Promise<IdentityTokenRow | undefined> {
  const row: unknown = await table(session, 'identity_tokens').where('token_hash', tokenHash).where('expires_at', '>', now).first();
  return row ? readToken(row) : undefined;
}

/** Revokes the token with this hash; true when there was one. */
export async function revokeIdentityToken(session: DbSession, _ctx: DbContext, tokenHash: string): Promise<boolean> {
  return (await table(session, 'identity_tokens').where('token_hash', tokenHash).delete()) > 0;
}

/** Removes tokens expired before `now`; returns how many. */
export async function purgeExpiredIdentityTokens(session: DbSession, _ctx: DbContext, now: Date = new Date()): Promise<number> {
  return table(session, 'identity_tokens').where('expires_at', '<=', now).delete();
}

/** The identity token db functions, to bind on a Db. */
export const identityTokenFunctions = {
  create: createIdentityToken,
  findLive: findLiveIdentityToken,
  revoke: revokeIdentityToken,
  purgeExpired: purgeExpiredIdentityTokens,
};
