/**
 * Small Compute API clients for the command line: `servers list` and `services` (the
 * per-server commands are in servers.ts). They speak HTTP to the API like
 * python-novaclient does.
 */
import type { Writable } from 'node:stream';

/** Where the API is and who we are. */
export interface ClientOptions {
  endpoint: string;
  token: string;
}

/** A non-2xx answer of the API, with its HTTP status and the fault's message. */
export class ApiError extends Error {
  readonly code = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A JSON request to the API; a non-2xx answer throws an {@link ApiError} with the API's message. */
export async function apiRequest<T = Record<string, unknown>>(
  options: ClientOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T; requestId: string | null }> {
  const response = await fetch(`${options.endpoint.replace(/\/$/, '')}${path}`, {
    method,
    headers: { 'x-auth-token': options.token, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as T) : ({} as T);
  if (!response.ok) {
    const fault = Object.values(parsed as Record<string, { message?: string }>)[0];
    throw new ApiError(`${method} ${path}: HTTP ${response.status}: ${fault?.message ?? text}`, response.status);
  }
  return { status: response.status, body: parsed, requestId: response.headers.get('x-openstack-request-id') };
}

/** Formats rows as an aligned table. */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** The fields of a server view the commands read. */
export interface ServerView {
  id: string;
  name: string;
  status: string;
  addresses: Record<string, Array<{ addr: string }>>;
  'OS-EXT-SRV-ATTR:host'?: string | null;
  'OS-EXT-STS:task_state'?: string | null;
  fault?: { message: string };
  [field: string]: unknown;
}

/** Flattens the addresses of a server view. */
export function addressList(server: ServerView): string {
  return Object.values(server.addresses ?? {}).flat().map((ip) => ip.addr).join(',');
}

export async function serversListCommand(options: ClientOptions, out: Writable): Promise<void> {
  const { body } = await apiRequest<{ servers: ServerView[] }>(options, 'GET', '/servers/detail');
  out.write(
    table(
      ['ID', 'Name', 'Status', 'Task', 'Host', 'Networks'],
      body.servers.map((s) => [s.id, s.name, s.status, s['OS-EXT-STS:task_state'] ?? '', s['OS-EXT-SRV-ATTR:host'] ?? '', addressList(s)]),
    ),
  );
}

/** Polls a server until it is ACTIVE or ERROR (or `timeoutMs` passes). */
export async function waitForServer(options: ClientOptions, id: string, timeoutMs = 60_000, intervalMs = 200): Promise<ServerView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await apiRequest<{ server: ServerView }>(options, 'GET', `/servers/${id}`);
    if (['ACTIVE', 'ERROR'].includes(body.server.status) || Date.now() > deadline) return body.server;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function servicesCommand(options: ClientOptions, out: Writable): Promise<void> {
  const { body } = await apiRequest<{ services: Array<Record<string, string | number | null>> }>(options, 'GET', '/os-services');
  out.write(
    table(
      ['Id', 'Binary', 'Host', 'Zone', 'Status', 'State', 'Updated At'],
      body.services.map((s) => [String(s.id), String(s.binary), String(s.host), String(s.zone), String(s.status), String(s.state), String(s.updated_at ?? '')]),
    ),
  );
}
