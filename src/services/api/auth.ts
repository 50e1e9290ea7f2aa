/**
 * Authentication of API requests. `noauth2` is Nova's: the X-Auth-Token is
 * `user:project` and the user `admin` is an admin. `tokens` reads a token file whose
 * lines are `TOKEN USER PROJECT [admin]` (comments start with #).
 */
import { readFileSync } from 'node:fs';
import { RequestContext } from '../../rpc/index.js';
import { ApiFault } from './faults.js';

/** Who a request is from, and its request ids. */
export interface AuthInput {
  token: string | undefined;
  requestId: string;
  globalRequestId?: string | null;
  remoteAddress?: string;
}

/** Turns a token into a request context; throws (or rejects with) a 401 ApiFault when it is not valid. */
export type Authenticator = (input: AuthInput) => RequestContext | Promise<RequestContext>;

/** Nova's noauth2: `user:project` (a bare `user` means project `user`). */
export function noauth2(): Authenticator {
  return ({ token, requestId, globalRequestId, remoteAddress }) => {
    if (!token) throw new ApiFault(401, 'Authentication required: send X-Auth-Token "user:project".');
    const [user, project] = token.split(':', 2);
    if (!user) throw new ApiFault(401, 'Invalid X-Auth-Token: expected "user:project".');
    const isAdmin = user === 'admin';
    return contextFor(user, project || user, isAdmin, { requestId, globalRequestId, remoteAddress });
  };
}

/** Static tokens from a file: `TOKEN USER PROJECT [admin]` per line. */
export function tokenFile(path: string): Authenticator {
  const tokens = parseTokenFile(readFileSync(path, 'utf8'));
  return ({ token, requestId, globalRequestId, remoteAddress }) => {
    const entry = token ? tokens.get(token) : undefined;
    if (!entry) throw new ApiFault(401, 'The request you have made requires authentication.');
    return contextFor(entry.user, entry.project, entry.admin, { requestId, globalRequestId, remoteAddress });
  };
}

/** Parses a token file; bad lines are an error naming the line. */
export function parseTokenFile(text: string): Map<string, { user: string; project: string; admin: boolean }> {
  const tokens = new Map<string, { user: string; project: string; admin: boolean }>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const [token, user, project, role] = line.split(/\s+/);
    if (!token || !user || !project) throw new Error(`token file line ${index + 1}: expected "TOKEN USER PROJECT [admin]"`);
    tokens.set(token, { user, project, admin: role === 'admin' });
  });
  return tokens;
}

function contextFor(
  user: string,
  project: string,
  isAdmin: boolean,
  ids: { requestId: string; globalRequestId?: string | null; remoteAddress?: string },
): RequestContext {
  return new RequestContext({
    requestId: ids.requestId,
    globalRequestId: ids.globalRequestId ?? null,
    userId: user,
    userName: user,
    projectId: project,
    projectName: project,
    isAdmin,
    roles: isAdmin ? ['admin', 'member', 'reader'] : ['member', 'reader'],
    remoteAddress: ids.remoteAddress ?? null,
  });
}
