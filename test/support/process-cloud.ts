/**
 * The multi-process cloud for the chaos tests: api, scheduler, network and computes as
 * separate `novarpc <service>` processes on the real RabbitMQ and a database of the
 * test's own, with an exchange and topics of their own, plus HTTP helpers. `stop()`
 * stops every worker and removes the queues, exchange, database and temp dir.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, type Db } from '../../src/db/index.js';
import { createDatabase, deleteBrokerObjects, freePort, startWorker, suffix, type Worker } from '../services/processes.js';
import { IMAGE } from '../services/support.js';

export const ADMIN_TOKEN = 'admin:project-a';

/** How to start the cloud. */
export interface ProcessCloudOptions {
  transportUrl: string;
  /** Server URL to create the test's database on (ignored when `database` is given). */
  databaseServerUrl: string;
  /** A database made by the caller (e.g. with a user of its own). */
  database?: { url: string; drop(): Promise<void> };
  computes?: string[];
  /** Extra `key = value` lines per section (DEFAULT, database, api, fake_driver, or any other such as identity, ha). */
  settings?: Record<string, Record<string, string | number | boolean>>;
  /** Admin token for the readiness check. Default admin:project-a (noauth2). */
  adminToken?: string;
  /** Whether to wait for every service to be up. Default true. */
  waitUp?: boolean;
  /** Extra environment of one worker (`api`, `scheduler`, `network`, `compute-<host>`). */
  workerEnv?: (name: string) => Record<string, string>;
}

/** An HTTP answer. */
export interface HttpAnswer {
  status: number;
  text: string;
  body: any;
}

/** A running multi-process cloud. */
export interface ProcessCloud {
  id: string;
  endpoint: string;
  transportUrl: string;
  databaseUrl: string;
  db: Db;
  dir: string;
  configFile: string;
  /** The token the helpers read servers with. */
  adminToken: string;
  workers: Map<string, Worker>;
  topics: { scheduler: string; compute: string; network: string };
  request(method: string, path: string, body?: unknown, token?: string): Promise<HttpAnswer>;
  boot(name: string, extra?: Record<string, unknown>, token?: string): Promise<string>;
  /** Starts (or restarts) one worker: `compute-<host>`, `api`, `scheduler`, `network`. */
  start(name: string): Worker;
  stop(): Promise<Record<string, number | null>>;
}

/** Starts the cloud and waits until every service reports up. */
export async function startProcessCloud(options: ProcessCloudOptions): Promise<ProcessCloud> {
  const id = suffix();
  const exchange = `nova_chaos_${id}`;
  const topics = { scheduler: `scheduler_${id}`, compute: `compute_${id}`, network: `network_${id}` };
  const computes = options.computes ?? ['cmp-a', 'cmp-b'];
  const database = options.database ?? (await createDatabase(options.databaseServerUrl, 'novarpc_chaos'));
  const db = await createDb({ url: database.url, migrate: true });
  const dir = await mkdtemp(join(tmpdir(), 'novarpc-chaos-'));
  const port = await freePort();
  const sections: Record<string, Record<string, string | number | boolean>> = {
    DEFAULT: {
      transport_url: options.transportUrl,
      control_exchange: exchange,
      scheduler_topic: topics.scheduler,
      compute_topic: topics.compute,
      network_topic: topics.network,
      report_interval: 1,
      service_down_time: 4,
      periodic_interval: 2,
      graceful_shutdown_timeout: 5,
      rpc_response_timeout: 15,
      ...options.settings?.DEFAULT,
    },
    database: { connection: database.url, auto_migrate: false, max_pool_size: 5, ...options.settings?.database },
    api: { listen: '127.0.0.1', listen_port: port, ...options.settings?.api },
    notifications: { driver: 'noop', ...options.settings?.notifications },
    fake_driver: { ...options.settings?.fake_driver },
  };
  for (const [name, values] of Object.entries(options.settings ?? {})) sections[name] ??= { ...values };
  const configFile = join(dir, 'nova.conf');
  await writeFile(configFile, Object.entries(sections).map(([name, values]) => [`[${name}]`, ...Object.entries(values).map(([k, v]) => `${k} = ${v}`), ''].join('\n')).join('\n'));
  const endpoint = `http://127.0.0.1:${port}/v2.1`;
  const workers = new Map<string, Worker>();
  const argsOf = (name: string) => {
    if (name.startsWith('compute-')) return ['compute', '--host', name.slice('compute-'.length)];
    // ha-engine-1, hostmonitor-2: several of a kind, each its own host name.
    const numbered = /^(ha-engine|hostmonitor)-\w+$/.exec(name);
    if (numbered) return [numbered[1]!, '--host', name];
    return [name, '--host', `${name}-host`];
  };
  const start = (name: string) => {
    const worker = startWorker(name, [...argsOf(name), '--config-file', configFile], options.workerEnv?.(name) ?? {});
    workers.set(name, worker);
    return worker;
  };

  const request = async (method: string, path: string, body?: unknown, token = 'alice:project-a'): Promise<HttpAnswer> => {
    const headers: Record<string, string> = {};
    if (token) headers['x-auth-token'] = token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return readAnswer(await fetch(`${endpoint}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  };
  const boot = async (name: string, extra: Record<string, unknown> = {}, token?: string) => {
    const answer = await request('POST', '/servers', { server: { name, imageRef: IMAGE, flavorRef: '1', ...extra } }, token);
    if (answer.status !== 202) throw new Error(`boot ${name}: ${answer.status} ${answer.text}`);
    return answer.body.server.id as string;
  };

  const stop = async () => {
    const codes: Record<string, number | null> = {};
    for (const [name, worker] of workers) codes[name] = await worker.stop();
    await db.close().catch(() => undefined);
    await database.drop().catch(() => undefined);
    const queues = [
      topics.scheduler, `${topics.scheduler}.scheduler-host`, topics.network, `${topics.network}.network-host`, topics.compute,
      ...computes.map((host) => `${topics.compute}.${host}`),
    ];
    await deleteBrokerObjects(options.transportUrl, queues, [exchange]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    return codes;
  };

  try {
    for (const name of ['network', 'scheduler', ...computes.map((host) => `compute-${host}`), 'api']) start(name);
    if (options.waitUp !== false) await waitUntilUp(request, workers, 3 + computes.length, options.adminToken ?? ADMIN_TOKEN);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    adminToken: options.adminToken ?? ADMIN_TOKEN, id, endpoint, transportUrl: options.transportUrl, databaseUrl: database.url, db, dir, configFile, workers, topics, request, boot, start, stop,
  };
}

async function waitUntilUp(request: ProcessCloud['request'], workers: Map<string, Worker>, expected: number, token: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await request('GET', '/os-services', undefined, token).catch(() => undefined);
    const count = (up?.body?.services ?? []).filter((s: { state: string }) => s.state === 'up').length;
    if (count >= expected) return;
    for (const worker of workers.values()) {
      if (worker.process.exitCode !== null) throw new Error(`${worker.name} exited: ${worker.stderr.join('')}`);
    }
    if (Date.now() > deadline) throw new Error(`services not up: ${up?.text}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A response's status, text and JSON body (undefined when it is not JSON). */
export async function readAnswer(response: Response): Promise<HttpAnswer> {
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, text, body: parsed };
}

/** Statuses of servers by id, read as admin. */
export async function statuses(cloud: ProcessCloud, ids: string[]): Promise<Map<string, any>> {
  const result = new Map<string, any>();
  for (const serverId of ids) result.set(serverId, (await cloud.request('GET', `/servers/${serverId}`, undefined, cloud.adminToken)).body?.server);
  return result;
}

/** Polls until every server is settled (ACTIVE or ERROR, no task) or the deadline passes. */
export async function waitSettled(cloud: ProcessCloud, ids: string[], timeoutMs: number): Promise<Map<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const servers = await statuses(cloud, ids);
    const settled = [...servers.values()].every((s) => s && ['ACTIVE', 'ERROR'].includes(s.status) && !s['OS-EXT-STS:task_state']);
    if (settled || Date.now() > deadline) return servers;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
