/**
 * The services under test of the end-to-end benchmark: api, scheduler, network and two
 * computes, either as separate worker processes (`novarpc <service>`, compiled or via tsx, as in
 * production) or all in this process. Everything gets names of its own (exchange,
 * topics, database) and is removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Knex } from 'knex';
import { createDb } from '../src/db/index.js';
import { createLogger } from '../src/log/logger.js';
import { getTransport, type Transport } from '../src/rpc/index.js';
import type { ServiceConfig } from '../src/services/config.js';
import { launch } from '../src/services/runtime.js';
import { deleteBrokerObjects, freePort } from '../test/support/scratch.js';
import { nodeArgsFor } from './entry.js';

/** Where the services run. */
export type ServicesMode = 'processes' | 'in-process';

/** Running services. */
export interface BenchServices {
  apiUrl: string;
  /** A transport on the services' exchange, for the bench's notification listener. */
  transport: Transport;
  /** The services' knex pool, when they run in this process (the bench counts their commits on it). */
  knex?: Knex;
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, '..');
export const COMPUTE_HOSTS = ['bench-c1', 'bench-c2'];

/** Starts the services of `config` (whose database is migrated and seeded by then). */
export async function startBenchServices(config: ServiceConfig, mode: ServicesMode): Promise<BenchServices> {
  return mode === 'in-process' ? inProcess(config) : processes(config);
}

async function inProcess(config: ServiceConfig): Promise<BenchServices> {
  const logger = createLogger({ level: config.logLevel });
  const runtime = await launch({ config, services: ['network', 'scheduler', 'compute', 'api'], computeHosts: COMPUTE_HOSTS, logger });
  return { apiUrl: runtime.apiUrl!, transport: runtime.transport, knex: runtime.db.knex, stop: () => runtime.stop() };
}

async function processes(config: ServiceConfig): Promise<BenchServices> {
  const dir = await mkdtemp(join(tmpdir(), 'novarpc-bench-'));
  const port = await freePort();
  const file = join(dir, 'nova.conf');
  await writeFile(file, novaConf(config, port));
  const children: ChildProcess[] = [];
  const start = (args: string[]) => {
    const child = spawn(process.execPath, [...nodeArgsFor('src/cli/main'), ...args, '--config-file', file], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`bench worker ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}\n`);
    });
    children.push(child);
  };
  start(['network', '--host', 'bench-net']);
  start(['scheduler', '--host', 'bench-sched']);
  for (const host of COMPUTE_HOSTS) start(['compute', '--host', host]);
  start(['api', '--host', 'bench-api']);
  const apiUrl = `http://127.0.0.1:${port}`;
  const stopAll = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForServices(apiUrl, children);
  } catch (error) {
    await stopAll();
    throw error;
  }
  const transport = getTransport(config.transportUrl, { options: { control_exchange: config.controlExchange } });
  return {
    apiUrl,
    transport,
    stop: async () => {
      await transport.close();
      await stopAll();
    },
  };
}

/** Resolves when the API answers and the four workers are up in os-services. */
async function waitForServices(apiUrl: string, children: readonly ChildProcess[]): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (children.some((child) => child.exitCode !== null)) throw new Error('a bench worker exited during start-up');
    try {
      const response = await fetch(`${apiUrl}/v2.1/os-services`, { headers: { 'x-auth-token': 'admin:bench' } });
      const body = (await response.json()) as { services?: Array<{ state: string }> };
      if ((body.services ?? []).filter((service) => service.state === 'up').length >= 5) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('bench services did not come up within 90 s');
    await new Promise((done) => setTimeout(done, 250));
  }
}

function novaConf(config: ServiceConfig, port: number): string {
  return [
    '[DEFAULT]',
    `transport_url = ${config.transportUrl}`,
    `control_exchange = ${config.controlExchange}`,
    `scheduler_topic = ${config.topics.scheduler}`,
    `compute_topic = ${config.topics.compute}`,
    `network_topic = ${config.topics.network}`,
    `report_interval = ${config.reportInterval}`,
    `log_level = ${config.logLevel}`,
    '[database]',
    `connection = ${config.databaseConnection}`,
    'auto_migrate = false',
    `max_pool_size = ${config.dbMaxPoolSize}`,
    '[api]',
    'listen = 127.0.0.1',
    `listen_port = ${port}`,
    `max_count = ${config.api.maxCount}`,
    '[notifications]',
    `topics = ${config.notificationTopics.join(',')}`,
    '[fake_driver]',
    `spawn_time = ${config.fakeDriver.spawnTimeMs}`,
    '',
  ].join('\n');
}

/** Migrates the database and adds a network big enough for `servers` addresses. */
export async function prepareDatabase(url: string, servers: number): Promise<void> {
  const db = await createDb({ url, migrate: true });
  try {
    let prefix = 24;
    while (2 ** (32 - prefix) - 3 < servers + 20 && prefix > 16) prefix--;
    await db.networks.create({ isAdmin: true }, { label: 'bench', cidr: `10.200.0.0/${prefix}` });
  } finally {
    await db.close();
  }
}

/** Deletes the queues and the exchange the bench declared. */
export async function cleanBroker(config: ServiceConfig): Promise<void> {
  const { scheduler, compute, network } = config.topics;
  const queues = [
    scheduler, `${scheduler}.bench-sched`, `${scheduler}.bench`, network, `${network}.bench-net`, `${network}.bench`, compute,
    ...COMPUTE_HOSTS.map((host) => `${compute}.${host}`),
    ...config.notificationTopics.flatMap((topic) => [`${topic}.info`, `${topic}.error`]),
  ];
  await deleteBrokerObjects(config.transportUrl, queues, [config.controlExchange]);
}

