/**
 * `novarpc demo --ha`: the demo cloud with instance HA (API, engine, host monitor) and
 * short timings. After the boots, the compute holding most servers "dies" (its service
 * stops heartbeating and consuming, with no graceful deregistration); the demo prints
 * the HA notification's progress as the instance HA API shows it, then each moved
 * server's evacuation journey (old host → new host, same id and addresses).
 */
import { freePort } from './free-port.js';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { ServiceConfigInput } from '../services/config.js';
import type { Runtime } from '../services/runtime.js';
import { addressList, apiRequest, type ClientOptions, type ServerView } from './client.js';
import { evacuationRoot, journeyFromSpans, journeyOfTrace } from './journey.js';

/** Hosts of the computes the HA demo runs: one dies, two take its servers. */
export const HA_COMPUTES = ['compute1', 'compute2', 'compute3'];
/** How long the HA demo waits for the recovery before it gives up (exit 1). */
export const HA_RECOVERY_TIMEOUT_MS = 60_000;
const POLL_MS = 250;
const ADMIN_TOKEN = 'admin:admin';

/** The demo's defaults with instance HA on: free ports and timings of a few seconds. */
export async function haDemoDefaults(): Promise<ServiceConfigInput> {
  const [apiPort, haPort] = [await freePort(), await freePort()];
  return {
    reportInterval: 1,
    serviceDownTime: 3,
    periodicInterval: 1,
    api: { listen: '127.0.0.1', port: apiPort },
    ha: { enabled: true, listen: '127.0.0.1', port: haPort, hostDownTime: 3, monitorInterval: 0.5, evacuateTimeout: 30 },
  };
}

/** What the HA part of the demo works with. */
export interface HaDemoContext {
  runtime: Runtime;
  admin: ClientOptions;
  spans: () => ReadableSpan[];
  /** The request_id of each server's boot, by server id. */
  bootRequests: ReadonlyMap<string, string>;
  /** The log lines of one request_id, formatted. */
  logLines: (name: string, requestId: string) => string;
  out: NodeJS.WritableStream;
}

/** Puts every compute host in one failover segment (recovery method auto), as an operator would. */
export async function createSegment(ctx: Pick<HaDemoContext, 'runtime' | 'out'>): Promise<void> {
  const segment = (await haRequest(ctx, 'POST', '/segments', { segment: { name: 'demo-segment', recovery_method: 'auto', service_type: 'COMPUTE' } })).segment;
  for (const name of HA_COMPUTES) await haRequest(ctx, 'POST', `/segments/${segment.uuid}/hosts`, { host: { name, type: 'COMPUTE', control_attributes: 'SSH' } });
  ctx.out.write(`instance HA: segment demo-segment (recovery_method auto) with hosts ${HA_COMPUTES.join(', ')}\n`);
}

/** Kills the busiest compute, follows the recovery, prints the moves; true when every server came back in time. */
export async function killAndRecover(ctx: HaDemoContext, timeoutMs = HA_RECOVERY_TIMEOUT_MS): Promise<boolean> {
  const before = await serversByHost(ctx);
  const victim = busiestHost(before);
  const victims = before.filter((server) => hostOf(server) === victim);
  const service = ctx.runtime.services.find((candidate) => candidate.manager.binary === 'nova-compute' && candidate.row?.host === victim);
  if (!service) throw new Error(`no compute service on ${victim}`);
  const started = Date.now();
  const at = () => `+${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s`;
  ctx.out.write(`\nKilling ${victim} (holds ${victims.length} of ${before.length} servers: ${victims.map((s) => s.name).join(', ')}): its nova-compute stops heartbeating and consuming, no graceful deregistration\n`);
  await service.stop();
  const outcome = await followRecovery(ctx, victim, victims, started + timeoutMs, (line) => ctx.out.write(`  ${at()}  ${line}\n`));
  if (!outcome.finished) {
    ctx.out.write(`\nRecovery of ${victim} did not finish within ${timeoutMs / 1000} s: ${outcome.reason}\n`);
    return false;
  }
  const after = new Map((await serversByHost(ctx)).map((server) => [server.id, server]));
  for (const old of victims) printMove(ctx, old, after.get(old.id)!, victim);
  ctx.out.write(`\nRecovered ${victims.length} of ${victims.length} servers of ${victim} in ${((outcome.at - started) / 1000).toFixed(1)} s (notification finished)\n`);
  return true;
}

interface Outcome {
  finished: boolean;
  at: number;
  reason: string;
}

/** Polls the HA API and the servers until the notification is finished and every victim is ACTIVE elsewhere. */
async function followRecovery(ctx: HaDemoContext, victim: string, victims: ServerView[], deadline: number, say: (line: string) => void): Promise<Outcome> {
  const seen = new Set<string>();
  let status = '';
  for (;;) {
    const notification = await latestNotification(ctx, victim);
    const changed = notification !== undefined && notification.status !== status;
    if (changed) status = notification.status;
    const sayStatus = () => say(`notification ${notification.notification_uuid} (COMPUTE_HOST ${victim} ${notification.payload?.event ?? ''}): ${status}${notification.message ? ` (${notification.message})` : ''}`);
    // A status that ends the workflow is told after the steps that led to it.
    const ending = ['finished', 'error', 'failed', 'ignored'].includes(status);
    if (changed && !ending) sayStatus();
    for (const step of notification?.recovery_workflow_details ?? []) {
      for (const detail of step.progress_details ?? []) {
        const line = `  ${step.name}: ${detail.message}`;
        if (!seen.has(line)) say(line);
        seen.add(line);
      }
    }
    if (changed && ending) sayStatus();
    const servers = new Map((await serversByHost(ctx)).map((server) => [server.id, server]));
    const moved = victims.every((old) => servers.get(old.id)?.status === 'ACTIVE' && ![victim, ''].includes(hostOf(servers.get(old.id)!)));
    if (status === 'finished' && moved) return { finished: true, at: Date.now(), reason: '' };
    if (['failed', 'ignored'].includes(status)) return { finished: false, at: Date.now(), reason: `notification ${status}` };
    if (Date.now() > deadline) return { finished: false, at: Date.now(), reason: `notification ${status || 'not sent'}, servers ${moved ? 'moved' : 'not all ACTIVE on another host'}` };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** One moved server: old host → new host, same id and addresses, then its journey: boot, then evacuation. */
function printMove(ctx: HaDemoContext, old: ServerView, now: ServerView, victim: string): void {
  const same = addressList(old) === addressList(now) ? 'same addresses' : `addresses were ${addressList(old)}`;
  ctx.out.write(`\n${now.name} ${now.id}: evacuated ${victim} → ${hostOf(now)}, ${now.status}, ${addressList(now)} (${same})\n`);
  const bootRequest = ctx.bootRequests.get(now.id);
  if (bootRequest) ctx.out.write(journeyFromSpans(`${now.name} boot`, bootRequest, ctx.spans()));
  const root = evacuationRoot(now.id, ctx.spans());
  if (!root) return void ctx.out.write(`  no evacuation trace for ${now.id}\n`);
  const requestId = String(root.attributes['openstack.request_id']);
  ctx.out.write(journeyOfTrace(`${now.name} evacuation (${requestId}, trace ${root.spanContext().traceId})`, root, ctx.spans()));
  ctx.out.write(ctx.logLines(now.name, requestId));
}

/** The newest notification about `host`, with its recovery_workflow_details (1.1). */
async function latestNotification(ctx: HaDemoContext, host: string): Promise<any> {
  const list = (await haRequest(ctx, 'GET', '/notifications')).notifications as Array<{ notification_uuid: string; hostname: string }>;
  const mine = list.filter((candidate) => candidate.hostname === host);
  if (mine.length === 0) return undefined;
  return (await haRequest(ctx, 'GET', `/notifications/${mine[0]!.notification_uuid}`)).notification;
}

async function serversByHost(ctx: HaDemoContext): Promise<ServerView[]> {
  return (await apiRequest<{ servers: ServerView[] }>(ctx.admin, 'GET', '/servers/detail?all_tenants=1')).body.servers;
}

function busiestHost(servers: readonly ServerView[]): string {
  const counts = new Map<string, number>();
  for (const server of servers) counts.set(hostOf(server), (counts.get(hostOf(server)) ?? 0) + 1);
  return [...counts.entries()].filter(([host]) => host !== '').sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
}

const hostOf = (server: ServerView) => String(server['OS-EXT-SRV-ATTR:host'] ?? '');

/** A JSON request to the instance HA API as the admin, at microversion 1.1. */
async function haRequest(ctx: Pick<HaDemoContext, 'runtime'>, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${ctx.runtime.haApiUrl}/v1${path}`, {
    method,
    headers: { 'x-auth-token': ADMIN_TOKEN, 'openstack-api-version': 'instance-ha 1.1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`instance HA API ${method} ${path}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : {};
}
