/**
 * How the HA engine and host monitors reach the cloud, as Masakari does through
 * keystoneauth: a password-scoped token from the Identity v3 endpoint (`[ha] auth_url`),
 * endpoints from its catalog, and a fresh token when one is refused. When the API runs
 * without an Identity endpoint (auth_strategy noauth2), the token is `user:project` and
 * the endpoints are the configured ones. The password and tokens never reach a log.
 */
import type { ServiceConfig } from '../config.js';

/** A JSON answer of a service. */
export interface JsonAnswer {
  status: number;
  body: any;
}

/** An HTTP call the engine made that did not succeed; `code` is stable (HaHttpError). */
export class HaHttpError extends Error {
  readonly code = 'HaHttpError';
  constructor(
    readonly status: number,
    readonly what: string,
    detail: string,
  ) {
    super(`${what} answered ${status}: ${detail.slice(0, 300)}`);
    this.name = 'HaHttpError';
  }
}

/** Where and as whom to authenticate. */
export interface SessionOptions {
  authUrl: string;
  username: string;
  password: string;
  project: string;
  /** Endpoints by service type when there is no Identity endpoint (noauth2). */
  noauthEndpoints: Record<string, string>;
  /** Headers every request of a service type carries (e.g. its microversion). */
  headers?: Record<string, Record<string, string>>;
  /** Milliseconds one HTTP request may take. */
  timeoutMs?: number;
}

interface Auth {
  token: string;
  endpoints: Record<string, string>;
}

/** The session options of a config: `[ha] auth_url` (default `<[api] public_endpoint>/identity/v3`) and credentials. */
export function sessionOptionsOf(config: ServiceConfig): SessionOptions {
  const apiBase = (config.api.publicEndpoint || `http://127.0.0.1:${config.api.port}`).replace(/\/+$/, '');
  const authUrl = (config.ha.authUrl || `${apiBase}/identity/v3`).replace(/\/+$/, '');
  const origin = new URL(authUrl);
  const haBase = (config.ha.publicEndpoint || `${origin.protocol}//${origin.hostname}:${config.ha.port}`).replace(/\/+$/, '');
  return {
    authUrl,
    username: config.ha.username,
    password: config.ha.password,
    project: config.ha.project,
    noauthEndpoints: { compute: `${apiBase}/v2.1`, 'instance-ha': `${haBase}/v1` },
    headers: { compute: { 'x-openstack-nova-api-version': '2.53', 'openstack-api-version': 'compute 2.53' }, 'instance-ha': { 'openstack-api-version': 'instance-ha 1.3' } },
  };
}

/** An authenticated session to the services of the catalog. */
export class OpenStackSession {
  private auth: Promise<Auth> | undefined;

  constructor(private readonly options: SessionOptions) {}

  /** Sends a JSON request to a service of the catalog; a refused token is renewed once. */
  async request(service: string, method: string, path: string, body?: unknown): Promise<JsonAnswer> {
    for (let attempt = 0; ; attempt++) {
      const auth = await this.authenticate();
      const base = auth.endpoints[service];
      if (!base) throw new HaHttpError(404, 'catalog', `no ${service} endpoint in the catalog`);
      const answer = await this.send(`${base}${path}`, method, { 'x-auth-token': auth.token, ...this.options.headers?.[service] }, body);
      if (answer.status === 401 && attempt === 0) {
        this.auth = undefined;
        continue;
      }
      return answer;
    }
  }

  /** Like {@link request}, but a status of 400 or more throws HaHttpError. */
  async expect(service: string, method: string, path: string, body?: unknown): Promise<any> {
    const answer = await this.request(service, method, path, body);
    if (answer.status >= 400) throw new HaHttpError(answer.status, `${method} ${service}${path}`, JSON.stringify(answer.body ?? null));
    return answer.body;
  }

  private authenticate(): Promise<Auth> {
    this.auth ??= this.login().catch((error: unknown) => {
      this.auth = undefined;
      throw error;
    });
    return this.auth;
  }

  private async login(): Promise<Auth> {
    const { authUrl, username, password, project } = this.options;
    const domain = { id: 'default' };
    const body = { auth: { identity: { methods: ['password'], password: { user: { name: username, domain, password } } }, scope: { project: { name: project, domain } } } };
    const response = await this.fetch(`${authUrl}/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status === 404) return { token: `${username}:${project}`, endpoints: this.options.noauthEndpoints };
    const text = await response.text();
    if (response.status !== 201) throw new HaHttpError(response.status, 'identity', text);
    const token = response.headers.get('x-subject-token') ?? '';
    const catalog = (JSON.parse(text) as { token?: { catalog?: Array<{ type: string; endpoints: Array<{ interface: string; url: string }> }> } }).token?.catalog ?? [];
    const endpoints: Record<string, string> = {};
    for (const entry of catalog) {
      const url = entry.endpoints.find((endpoint) => endpoint.interface === 'public')?.url;
      if (url) endpoints[entry.type] = url.replace(/\/+$/, '');
    }
    return { token, endpoints };
  }

  private async send(url: string, method: string, headers: Record<string, string>, body: unknown): Promise<JsonAnswer> {
    const init: RequestInit = { method, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await this.fetch(url, init);
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed };
  }

  private fetch(url: string, init: RequestInit): Promise<Response> {
    return fetch(url, { ...init, signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000) });
  }
}
