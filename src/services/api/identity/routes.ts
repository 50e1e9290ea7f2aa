/**
 * The built-in Identity endpoint at `/identity`: version documents (public), v3
 * `/v3/auth/tokens` (issue with password or token, validate, check, revoke), `/v3/projects`
 * (list for admins, show of one's own; projects come from the users file) and v2.0
 * `/v2.0/tokens` for older scripts. Errors use Keystone's `{"error": {...}}` shape.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IdentityTokenRow } from '../../../db/index.js';
import { ApiFault, toFault } from '../faults.js';
import { parseV2Auth, parseV3Auth, type AuthRequest } from './requests.js';
import type { IdentityService, IssuedToken } from './tokens.js';
import { identityV2Version, identityV3Version, identityVersions, publicBase, v2AccessBody, v3Project, v3TokenBody, type ExtraCatalog } from './views.js';

/** What the identity routes need. */
export interface IdentityRouteDeps {
  identity: IdentityService;
  /** `[api] public_endpoint` ('' = the address the request came to). */
  publicEndpoint: string;
  /** Services on other ports the catalog lists too. */
  extraCatalog?: ExtraCatalog | undefined;
}

const TITLES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' };
const UNAUTHORIZED = 'The request you have made requires authentication.';

/** Registers the identity routes (mount with prefix `/identity`). */
export function identityRoutes(deps: IdentityRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const base = (request: FastifyRequest) => publicBase(request, deps.publicEndpoint);
    app.setErrorHandler((error, request, reply) => {
      const fault = toFault(error);
      if (fault.unexpected) request.log.error({ err: error }, 'unexpected identity error');
      if (fault.status === 401) void reply.header('www-authenticate', `Keystone uri="${base(request)}/identity"`);
      void reply.code(fault.status).send({ error: { code: fault.status, message: fault.message, title: TITLES[fault.status] ?? 'Error' } });
    });

    app.get('/', async (request, reply) => {
      reply.code(300);
      return identityVersions(base(request));
    });
    for (const path of ['/v3', '/v3/']) app.get(path, async (request) => ({ version: identityV3Version(base(request)) }));
    for (const path of ['/v2.0', '/v2.0/']) app.get(path, async (request) => ({ version: identityV2Version(base(request)) }));

    app.post('/v3/auth/tokens', async (request, reply) => {
      const issued = await authenticate(deps.identity, parseV3Auth(request.body));
      void reply.code(201).header('x-subject-token', issued.token);
      return v3TokenBody(issued.row, base(request), deps.extraCatalog);
    });
    app.get('/v3/auth/tokens', async (request, reply) => {
      const subject = await subjectToken(deps.identity, request);
      void reply.header('x-subject-token', header(request, 'x-subject-token'));
      return v3TokenBody(subject, base(request), deps.extraCatalog);
    });
    app.delete('/v3/auth/tokens', async (request, reply) => {
      await subjectToken(deps.identity, request);
      await deps.identity.revoke(header(request, 'x-subject-token') ?? '');
      void reply.code(204);
    });

    // Projects, as clients resolve `--project NAME` (GET /projects/NAME, then ?name=NAME).
    app.get('/v3/projects', async (request) => {
      const caller = await callerToken(deps.identity, request);
      if (!caller.is_admin) throw new ApiFault(403, 'You are not authorized to perform the requested action: identity:list_projects.');
      const name = (request.query as { name?: string }).name;
      const names = deps.identity.projects().filter((project) => name === undefined || project === name);
      return { projects: names.map((project) => v3Project(project, base(request))), links: { self: `${base(request)}/identity/v3/projects`, previous: null, next: null } };
    });
    app.get('/v3/projects/:id', async (request) => {
      const caller = await callerToken(deps.identity, request);
      const id = (request.params as { id: string }).id;
      if (!deps.identity.projects().includes(id)) throw new ApiFault(404, `Could not find project: ${id}.`);
      if (!caller.is_admin && caller.project_name !== id) throw new ApiFault(403, 'You are not authorized to perform the requested action: identity:get_project.');
      return { project: v3Project(id, base(request)) };
    });

    app.post('/v2.0/tokens', async (request) => {
      const issued = await authenticate(deps.identity, parseV2Auth(request.body));
      return v2AccessBody(issued.token, issued.row, base(request), deps.extraCatalog);
    });
  };
}

/** Checks the credentials and the project asked for; issues a token or throws 401. */
async function authenticate(identity: IdentityService, auth: AuthRequest): Promise<IssuedToken> {
  if (!auth.defaultDomain) throw new ApiFault(401, UNAUTHORIZED);
  if (auth.method === 'password') {
    const user = await identity.checkPassword(auth.userName ?? '', auth.password ?? '');
    if (!user || (auth.project !== undefined && auth.project !== user.project)) throw new ApiFault(401, UNAUTHORIZED);
    return identity.issue(user, ['password']);
  }
  const original = await identity.validate(auth.token);
  const user = original ? identity.user(original.user_name) : undefined;
  if (!original || !user || (auth.project !== undefined && auth.project !== user.project)) throw new ApiFault(401, UNAUTHORIZED);
  return identity.issue(user, ['token'], original.expires_at);
}

/**
 * The token named by X-Subject-Token, for a caller with a live X-Auth-Token: 401 without
 * one, 403 when a non-admin asks about another user's token, 404 when the subject is not live.
 */
async function subjectToken(identity: IdentityService, request: FastifyRequest): Promise<IdentityTokenRow> {
  const caller = await callerToken(identity, request);
  const subject = await identity.validate(header(request, 'x-subject-token'));
  if (!subject) throw new ApiFault(404, 'Could not find token.');
  if (!caller.is_admin && subject.user_name !== caller.user_name) throw new ApiFault(403, 'You are not authorized to perform the requested action: identity:validate_token.');
  return subject;
}

/** The caller's live X-Auth-Token, or 401. */
async function callerToken(identity: IdentityService, request: FastifyRequest): Promise<IdentityTokenRow> {
  const caller = await identity.validate(header(request, 'x-auth-token'));
  if (!caller) throw new ApiFault(401, UNAUTHORIZED);
  return caller;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

