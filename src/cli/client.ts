/**
 * Small Compute API clients for the command line: `servers list`, `boot`, `services`.
 * They speak HTTP to the API like python-novaclient does.
 */
import type { Writable } from 'node:stream';

/** Where the API is and who we are. */
export interface ClientOptions {
  endpoint: string;
  token: string;
}

/** A JSON request to the API; a non-2xx answer throws with the API's message. */
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
    throw new Error(`${method} ${path}: HTTP ${response.status}: ${fault?.message ?? text}`);
  }
  return { status: response.status, body: parsed, requestId: response.headers.get('x-openstack-request-id') };
}

/** Formats rows as an aligned table. */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

interface ServerView {
  id: string;
  name: string;
  status: string;
  addresses: Record<string, Array<{ addr: string }>>;
  'OS-EXT-SRV-ATTR:host'?: string | null;
  'OS-EXT-STS:task_state'?: string | null;
  fault?: { message: string };
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

export async function bootCommand(
  options: ClientOptions,
  name: string,
  flags: { image?: string; flavor?: string; meta?: string[]; wait?: boolean },
  out: Writable,
): Promise<void> {
  let image = flags.image;
  if (!image) {
    const { body } = await apiRequest<{ images: Array<{ id: string }> }>(options, 'GET', '/images');
    image = body.images[0]?.id;
    if (!image) throw new Error('no image to boot');
  }
  const metadata = Object.fromEntries((flags.meta ?? []).map((item) => [item.split('=')[0]!, item.split('=').slice(1).join('=')]));
  const created = await apiRequest<{ server: { id: string } }>(options, 'POST', '/servers', {
    server: { name, imageRef: image, flavorRef: flags.flavor ?? '1', metadata },
  });
  out.write(`server ${created.body.server.id} accepted (request ${created.requestId})\n`);
  if (!flags.wait) return;
  const server = await waitForServer(options, created.body.server.id);
  out.write(`${server.name}: ${server.status} ${addressList(server)}${server.fault ? ` (${server.fault.message})` : ''}\n`);
  if (server.status !== 'ACTIVE') process.exitCode = 1;
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
