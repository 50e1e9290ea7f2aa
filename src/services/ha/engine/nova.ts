/**
 * The Compute API calls of the recovery workflows (what Masakari's compute/nova.py
 * does, at microversion 2.53), and waits on observed server state, each bounded by a
 * timeout: no fixed sleeps.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HaHttpError, type OpenStackSession } from '../openstack-session.js';

/** A server as the Compute API shows it to an admin. */
export interface NovaServer {
  id: string;
  name: string;
  status: string;
  locked?: boolean;
  'OS-EXT-SRV-ATTR:host'?: string | null;
  'OS-EXT-STS:vm_state'?: string;
  'OS-EXT-STS:task_state'?: string | null;
}

/** A compute service as os-services shows it from 2.53. */
export interface NovaService {
  id: string;
  host: string;
  status: 'enabled' | 'disabled';
  state: 'up' | 'down';
  forced_down?: boolean;
  disabled_reason?: string | null;
}

/** A wait that ran out; `code` is stable. */
export class HaTimeoutError extends Error {
  readonly code = 'HaTimeout';
  constructor(message: string) {
    super(message);
    this.name = 'HaTimeoutError';
  }
}

const POLL_MS = 200;

/** The host a server runs on. */
export const hostOf = (server: NovaServer) => server['OS-EXT-SRV-ATTR:host'] ?? null;
/** The server's task, or null. */
export const taskOf = (server: NovaServer) => server['OS-EXT-STS:task_state'] ?? null;

/** Compute API operations on behalf of the engine. */
export class NovaClient {
  constructor(private readonly session: OpenStackSession) {}

  /** The nova-compute service of a host; HaHttpError 404 when there is none. */
  async computeService(host: string): Promise<NovaService> {
    const body = await this.session.expect('compute', 'GET', `/os-services?binary=nova-compute&host=${encodeURIComponent(host)}`);
    const service = (body.services as NovaService[]).find((candidate) => candidate.host === host);
    if (!service) throw new HaHttpError(404, 'os-services', `no nova-compute service on host ${host}`);
    return service;
  }

  /** PUT /os-services/{id} (2.53): status, disabled_reason, forced_down. */
  async updateService(id: string, changes: { status?: 'enabled' | 'disabled'; disabled_reason?: string; forced_down?: boolean }): Promise<NovaService> {
    return (await this.session.expect('compute', 'PUT', `/os-services/${id}`, changes)).service as NovaService;
  }

  /** Every server on a host, across projects. */
  async serversOnHost(host: string): Promise<NovaServer[]> {
    return (await this.session.expect('compute', 'GET', `/servers/detail?all_tenants=1&host=${encodeURIComponent(host)}`)).servers as NovaServer[];
  }

  /** One server. */
  async server(id: string): Promise<NovaServer> {
    return (await this.session.expect('compute', 'GET', `/servers/${id}`)).server as NovaServer;
  }

  /** A server action (lock, unlock, os-resetState, evacuate, os-stop, os-start). */
  async action(id: string, body: Record<string, unknown>): Promise<unknown> {
    return this.session.expect('compute', 'POST', `/servers/${id}/action`, body);
  }

  /** Polls a server until `done` holds (or `failed` names a reason), at most `timeoutMs`. */
  async waitFor(id: string, what: string, timeoutMs: number, done: (server: NovaServer) => boolean, failed?: (server: NovaServer) => string | undefined): Promise<NovaServer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const server = await this.server(id);
      if (done(server)) return server;
      const reason = failed?.(server);
      if (reason) throw new Error(`server ${id}: ${reason}`);
      if (Date.now() > deadline) throw new HaTimeoutError(`server ${id} not ${what} within ${Math.round(timeoutMs / 1000)} s (status ${server.status}, host ${hostOf(server)}, task ${taskOf(server)})`);
      await sleep(POLL_MS);
    }
  }

  /** Stops a server and waits until it is SHUTOFF. */
  async stop(id: string, timeoutMs: number): Promise<void> {
    const server = await this.server(id);
    if (server.status !== 'SHUTOFF') await this.action(id, { 'os-stop': null });
    await this.waitFor(id, 'SHUTOFF', timeoutMs, (s) => s.status === 'SHUTOFF' && !taskOf(s), (s) => (s.status === 'ERROR' ? 'went to ERROR' : undefined));
  }

  /** Starts a server and waits until it is ACTIVE. */
  async start(id: string, timeoutMs: number): Promise<void> {
    const server = await this.server(id);
    if (server.status !== 'ACTIVE') await this.action(id, { 'os-start': null });
    await this.waitFor(id, 'ACTIVE', timeoutMs, (s) => s.status === 'ACTIVE' && !taskOf(s), (s) => (s.status === 'ERROR' ? 'went to ERROR' : undefined));
  }
}
