/**
 * Token issue, validation and revocation of the built-in Identity endpoint. A token is 32
 * random bytes (base64url), opaque to clients; the database keeps only its SHA-256, so
 * every API process on the same database accepts it and a revocation holds on all.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db, IdentityTokenRow } from '../../../db/index.js';
import { RequestContext } from '../../../rpc/index.js';
import type { Authenticator } from '../auth.js';
import { ApiFault } from '../faults.js';
import { verifyPassword, type IdentityUser } from './users.js';

/** What the identity service needs. */
export interface IdentityDeps {
  db: Db;
  users: ReadonlyMap<string, IdentityUser>;
  /** Seconds a token lives (`[identity] token_expiration`). */
  tokenExpiration: number;
}

/** An issued token and what it stands for. */
export interface IssuedToken {
  token: string;
  row: IdentityTokenRow;
}

const SYSTEM = { requestId: 'identity', isAdmin: true };
/** A well-formed hash no password matches, checked for unknown users. */
const UNKNOWN_USER_HASH = `scrypt$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(32).toString('base64url')}`;

/** The SHA-256 (hex) under which a token is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Users, tokens and the Compute API's authenticator under `auth_strategy = keystone`. */
export class IdentityService {
  private issuedSincePurge = 0;

  constructor(private readonly deps: IdentityDeps) {}

  /** The user with this name and password, or undefined (unknown user or wrong password alike). */
  async checkPassword(name: string, password: string): Promise<IdentityUser | undefined> {
    const user = this.deps.users.get(name);
    // An unknown user costs the same comparison, so timing does not tell which names exist.
    const matches = await verifyPassword(user?.password ?? UNKNOWN_USER_HASH, password);
    return user && matches ? user : undefined;
  }

  /** Every project named in the users file, sorted. */
  projects(): string[] {
    return [...new Set([...this.deps.users.values()].map((user) => user.project))].sort();
  }

  /** The user of this name, if any. */
  user(name: string): IdentityUser | undefined {
    return this.deps.users.get(name);
  }

  /** Issues a token for `user`, expiring after token_expiration (or with `expiresAt`, for a rescoped token). */
  async issue(user: IdentityUser, methods: readonly string[], expiresAt?: Date): Promise<IssuedToken> {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    const row = await this.deps.db.identityTokens.create(SYSTEM, {
      token_hash: hashToken(token),
      audit_id: randomBytes(16).toString('base64url').slice(0, 22),
      user_name: user.name,
      project_name: user.project,
      is_admin: user.admin,
      methods: methods.join(','),
      issued_at: now,
      expires_at: expiresAt ?? new Date(now.getTime() + this.deps.tokenExpiration * 1000),
    });
    if (++this.issuedSincePurge >= 100) {
      this.issuedSincePurge = 0;
      await this.deps.db.identityTokens.purgeExpired(SYSTEM, now);
    }
    return { token, row };
  }

  /** The live token's row, or undefined when unknown, expired or revoked. */
  async validate(token: string | undefined): Promise<IdentityTokenRow | undefined> {
    if (!token) return undefined;
    return this.deps.db.identityTokens.findLive(SYSTEM, hashToken(token));
  }

  /** Revokes a token; false when it was not live. */
  async revoke(token: string): Promise<boolean> {
    return this.deps.db.identityTokens.revoke(SYSTEM, hashToken(token));
  }

  /** The authenticator of `auth_strategy = keystone`: only live tokens issued here. */
  authenticator(): Authenticator {
    return async ({ token, requestId, globalRequestId, remoteAddress }) => {
      const row = await this.validate(token);
      if (!row) throw new ApiFault(401, 'The request you have made requires authentication.');
      return new RequestContext({
        requestId,
        globalRequestId: globalRequestId ?? null,
        userId: row.user_name,
        userName: row.user_name,
        projectId: row.project_name,
        projectName: row.project_name,
        isAdmin: row.is_admin,
        roles: rolesOf(row.is_admin),
        remoteAddress: remoteAddress ?? null,
      });
    };
  }
}

/** The role names of a user: admin, member, reader (admins) or member, reader. */
export function rolesOf(admin: boolean): string[] {
  return admin ? ['admin', 'member', 'reader'] : ['member', 'reader'];
}
