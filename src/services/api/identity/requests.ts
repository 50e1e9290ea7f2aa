/**
 * Reading Keystone's auth request bodies: v3 `{"auth": {"identity": ..., "scope": ...}}`
 * and v2.0 `{"auth": {"passwordCredentials" | "token", "tenantName" | "tenantId"}}`.
 * A missing or malformed piece is a 400 naming it; the password itself never appears.
 */
import { ApiFault } from '../faults.js';
import { DEFAULT_DOMAIN } from './views.js';

/** What a request authenticates with, and the project it asks for. */
export interface AuthRequest {
  method: 'password' | 'token';
  /** For `password`: the user's name (or id: they are equal here) and password. */
  userName?: string;
  password?: string;
  /** For `token`: the token to rescope. */
  token?: string;
  /** The project asked for (by name or id: they are equal here), if any. */
  project?: string;
  /** False when a domain other than the default one was named. */
  defaultDomain: boolean;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses a v3 auth body. */
export function parseV3Auth(body: unknown): AuthRequest {
  const auth = member(body, 'auth', 'auth');
  const identity = member(auth, 'identity', 'auth.identity');
  const methods = identity.methods;
  if (!Array.isArray(methods) || methods.length === 0) throw missing('auth.identity.methods');
  const scope = isObject(auth.scope) ? auth.scope : undefined;
  const project = scope && isObject(scope.project) ? scope.project : undefined;
  const projectName = project ? nameOrId(project) : undefined;
  if (scope && !project) throw new ApiFault(401, 'The request you have made requires authentication.');
  if (project && !projectName) throw missing('auth.scope.project.name');
  const base = { project: projectName, defaultDomain: !project || isDefaultDomain(project.domain) };
  if (methods.includes('password')) {
    const user = member(member(identity, 'password', 'auth.identity.password'), 'user', 'auth.identity.password.user');
    const userName = nameOrId(user);
    if (!userName) throw missing('auth.identity.password.user.name');
    if (typeof user.password !== 'string') throw missing('auth.identity.password.user.password');
    return { ...base, method: 'password', userName, password: user.password, defaultDomain: base.defaultDomain && isDefaultDomain(user.domain) };
  }
  if (methods.includes('token')) {
    const token = member(identity, 'token', 'auth.identity.token').id;
    if (typeof token !== 'string' || !token) throw missing('auth.identity.token.id');
    return { ...base, method: 'token', token };
  }
  throw new ApiFault(401, `Attempted to authenticate with an unsupported method.`);
}

/** Parses a v2.0 auth body. */
export function parseV2Auth(body: unknown): AuthRequest {
  const auth = member(body, 'auth', 'auth');
  const tenant = [auth.tenantName, auth.tenantId].find((value) => typeof value === 'string' && value !== '') as string | undefined;
  if (isObject(auth.passwordCredentials)) {
    const { username, userId, password } = auth.passwordCredentials;
    const userName = [username, userId].find((value) => typeof value === 'string' && value !== '') as string | undefined;
    if (!userName) throw missing('auth.passwordCredentials.username');
    if (typeof password !== 'string') throw missing('auth.passwordCredentials.password');
    return { method: 'password', userName, password, project: tenant, defaultDomain: true };
  }
  if (isObject(auth.token) && typeof auth.token.id === 'string') return { method: 'token', token: auth.token.id, project: tenant, defaultDomain: true };
  throw missing('auth.passwordCredentials');
}

function member(parent: unknown, key: string, path: string): Json {
  const value = isObject(parent) ? parent[key] : undefined;
  if (!isObject(value)) throw missing(path);
  return value;
}

function nameOrId(entity: Json): string | undefined {
  const value = [entity.name, entity.id].find((candidate) => typeof candidate === 'string' && candidate !== '');
  return value as string | undefined;
}

/** `{"id": "default"}`, `{"name": "Default"}` or no domain at all. */
function isDefaultDomain(domain: unknown): boolean {
  if (domain === undefined || domain === null) return true;
  if (!isObject(domain)) return false;
  if (domain.id !== undefined) return domain.id === DEFAULT_DOMAIN.id;
  if (domain.name !== undefined) return typeof domain.name === 'string' && domain.name.toLowerCase() === DEFAULT_DOMAIN.name.toLowerCase();
  return true;
}

function missing(path: string): ApiFault {
  return new ApiFault(400, `Expecting to find ${path} in request body. The server could not comply with the request since it is either malformed or otherwise incorrect.`);
}
