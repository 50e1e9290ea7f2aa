/**
 * The per-server commands: `boot [--wait]`, `servers show <id|name>` and
 * `servers delete <id|name> [--wait]`. A server is named by its id or by its exact
 * name; waiting prints one line each time the server's state changes, and gives up with
 * a non-zero exit after `--timeout` seconds.
 */
import type { Writable } from 'node:stream';
import { InvalidArgumentError } from 'commander';
import { addressList, ApiError, apiRequest, table, type ClientOptions, type ServerView } from './client.js';

/** Default `--timeout` of the waiting commands, in seconds (Nova's instance_build_timeout). */
export const DEFAULT_WAIT_TIMEOUT_S = 600;

/** How often a waiting command polls the API. */
const POLL_INTERVAL_MS = 100;

/** `--timeout` value: a positive number of seconds. */
export function parseTimeout(raw: string): number {
  const seconds = Number(raw);
  if (!(seconds > 0) || !Number.isFinite(seconds)) throw new InvalidArgumentError(`--timeout must be a positive number of seconds, got "${raw}"`);
  return seconds;
}

/** A command-line failure with a stable code; the CLI prints its message and exits 1. */
export class CommandError extends Error {
  constructor(
    readonly code: 'ServerNotFound' | 'AmbiguousServerName' | 'WaitTimeout' | 'NoImage',
    message: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The server with this id, or else the one server with exactly this name. */
export async function findServer(options: ClientOptions, idOrName: string): Promise<ServerView> {
  const byId = await getServer(options, idOrName);
  if (byId) return byId;
  const { body } = await apiRequest<{ servers: ServerView[] }>(options, 'GET', `/servers/detail?name=${encodeURIComponent(idOrName)}`);
  const named = body.servers.filter((server) => server.name === idOrName);
  if (named.length === 0) throw new CommandError('ServerNotFound', `No server with a name or ID of '${idOrName}' exists.`);
  if (named.length > 1) {
    throw new CommandError('AmbiguousServerName', `${named.length} servers are named '${idOrName}' (${named.map((s) => s.id).join(', ')}); use an ID.`);
  }
  return named[0]!;
}

/** GET /servers/{id}; undefined when there is no such server (404). */
async function getServer(options: ClientOptions, id: string): Promise<ServerView | undefined> {
  try {
    return (await apiRequest<{ server: ServerView }>(options, 'GET', `/servers/${encodeURIComponent(id)}`)).body.server;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** `servers show`: every field of the server as a Property/Value table, as novaclient prints it. */
export async function serversShowCommand(options: ClientOptions, idOrName: string, out: Writable): Promise<void> {
  out.write(table(['Property', 'Value'], serverProperties(await findServer(options, idOrName))));
}

/** The rows of `servers show`: fields sorted by name, one row per network, ids for image and flavor. */
export function serverProperties(server: ServerView): string[][] {
  const rows: string[][] = [];
  for (const [field, value] of Object.entries(server)) {
    if (field === 'links' || field === 'addresses') continue;
    rows.push([field, displayValue(field, value)]);
  }
  for (const [network, ips] of Object.entries(server.addresses ?? {})) rows.push([`${network} network`, ips.map((ip) => ip.addr).join(', ')]);
  return rows.sort(([a], [b]) => a!.localeCompare(b!));
}

function displayValue(field: string, value: unknown): string {
  if (value === null || value === undefined) return '-';
  if ((field === 'image' || field === 'flavor') && typeof value === 'object') return String((value as { id?: unknown }).id ?? '-');
  if (field === 'fault' && typeof value === 'object') return String((value as { message?: unknown }).message ?? '');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `servers delete`: asks for the deletion; with `wait`, returns once the server is gone. */
export async function serversDeleteCommand(
  options: ClientOptions,
  idOrName: string,
  flags: { wait?: boolean; timeout?: number },
  out: Writable,
): Promise<void> {
  const server = await findServer(options, idOrName);
  await apiRequest(options, 'DELETE', `/servers/${server.id}`);
  out.write(`Request to delete server ${server.name} (${server.id}) has been accepted.\n`);
  if (!flags.wait) return;
  await watchServer(options, server, { out, timeoutS: flags.timeout, until: 'deleted' });
  out.write(`${server.name}: deleted\n`);
}

/** `boot`: creates a server; with `wait`, follows it to ACTIVE (exit 0) or ERROR (exit 1, with the fault). */
export async function bootCommand(
  options: ClientOptions,
  name: string,
  flags: { image?: string; flavor?: string; meta?: string[]; wait?: boolean; timeout?: number },
  out: Writable,
): Promise<void> {
  const image = flags.image ?? (await firstImage(options));
  const metadata = Object.fromEntries((flags.meta ?? []).map((item) => [item.split('=')[0]!, item.split('=').slice(1).join('=')]));
  const created = await apiRequest<{ server: { id: string } }>(options, 'POST', '/servers', {
    server: { name, imageRef: image, flavorRef: flags.flavor ?? '1', metadata },
  });
  out.write(`server ${created.body.server.id} accepted (request ${created.requestId})\n`);
  if (!flags.wait) return;
  const server = (await watchServer(options, { id: created.body.server.id, name }, { out, timeoutS: flags.timeout, until: 'settled' }))!;
  if (server.status === 'ACTIVE') {
    out.write(`${server.name}: ACTIVE ${addressList(server)}\n`);
    return;
  }
  out.write(`${server.name}: ERROR: ${server.fault?.message ?? 'no fault recorded'}\n`);
  process.exitCode = 1;
}

async function firstImage(options: ClientOptions): Promise<string> {
  const { body } = await apiRequest<{ images: Array<{ id: string }> }>(options, 'GET', '/images');
  const image = body.images[0]?.id;
  if (!image) throw new CommandError('NoImage', 'no image to boot: the API lists none; pass --image');
  return image;
}

/** What {@link watchServer} waits for, and where it writes. */
interface WatchOptions {
  out: Writable;
  /** Seconds before giving up; default {@link DEFAULT_WAIT_TIMEOUT_S}. */
  timeoutS?: number | undefined;
  /** `settled`: ACTIVE or ERROR with no task running; `deleted`: the API no longer shows it. */
  until: 'settled' | 'deleted';
}

/**
 * Polls a server, writing `<name>: <STATUS> (<task>)` each time status or task state
 * changes (the final ACTIVE/ERROR line is the caller's). Resolves with the last view
 * (undefined once deleted); throws a `WaitTimeout` CommandError naming the last state.
 */
export async function watchServer(options: ClientOptions, server: { id: string; name: string }, watch: WatchOptions): Promise<ServerView | undefined> {
  const timeoutS = watch.timeoutS ?? DEFAULT_WAIT_TIMEOUT_S;
  const deadline = Date.now() + timeoutS * 1000;
  let shown = '';
  for (;;) {
    const view = await getServer(options, server.id);
    const gone = !view || view.status === 'DELETED';
    if (watch.until === 'deleted' && gone) return undefined;
    if (!view) throw new CommandError('ServerNotFound', `server ${server.name} (${server.id}) disappeared while waiting`);
    const state = describeState(view);
    if (watch.until === 'settled' && isSettled(view)) return view;
    if (state !== shown) watch.out.write(`${server.name}: ${state}\n`);
    shown = state;
    if (Date.now() >= deadline) {
      const goal = watch.until === 'deleted' ? 'to be deleted' : 'to become ACTIVE or ERROR';
      throw new CommandError('WaitTimeout', `timed out after ${timeoutS}s waiting for server ${server.name} (${server.id}) ${goal}; it is ${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

function describeState(server: ServerView): string {
  const task = server['OS-EXT-STS:task_state'];
  return task ? `${server.status} (${task})` : server.status;
}

function isSettled(server: ServerView): boolean {
  return ['ACTIVE', 'ERROR'].includes(server.status) && !server['OS-EXT-STS:task_state'];
}
