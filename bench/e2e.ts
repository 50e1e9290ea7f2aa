/**
 * End-to-end benchmark: servers booted to ACTIVE per second, and boot latency (HTTP
 * POST /servers until the server is ACTIVE), on RabbitMQ + MariaDB with api,
 * scheduler, network and two computes (fake driver, spawn time 0).
 *
 * By default the services all run in this process (one AMQP transport, one MariaDB
 * pool; every message still goes through RabbitMQ and every state change through
 * MariaDB). `mode: 'processes'` starts them as separate worker processes
 * (`novarpc <service>`, as in production): on a 2-core machine five Node processes plus
 * the broker and the database compete for the cores, and that costs about a quarter of
 * the throughput (measured: ~100-107 servers/s in process, ~70-87 as processes). The load is
 * real HTTP: `concurrency` clients each boot a server and wait for it to be ACTIVE
 * before booting the next. "ACTIVE" is observed through the
 * `compute.instance.create.end` notification, sent right after the ACTIVE update
 * commits (polling 50 servers over HTTP would load the API more than the boots do); at
 * the end every server is checked ACTIVE through GET /servers/detail.
 */
import { randomBytes } from 'node:crypto';
import { NotificationListener } from '../src/rpc/index.js';
import { resolveServiceConfig } from '../src/services/config.js';
import { cleanBroker, prepareDatabase, startBenchServices, type ServicesMode } from './e2e-services.js';
import type { BenchSection } from './types.js';
import { createScratchDatabase, type ScratchDatabase } from '../test/support/scratch.js';

/** Options of {@link runE2eBench}. */
export interface E2eBenchOptions {
  transportUrl: string;
  /** A MariaDB/MySQL server URL; the bench creates (and drops) a database of its own there. */
  databaseUrl: string;
  /** Servers to boot; default 500. */
  servers?: number;
  /** Boots in flight; default 50. */
  concurrency?: number;
  /** Everything in this process (default) or separate worker processes. */
  mode?: ServicesMode;
}

const IMAGE = '928e2889-6359-40ef-b44c-0aa0b7394be1';
const TOKEN = 'bench:bench';

/** Runs the benchmark and returns its section of the report. */
export async function runE2eBench(options: E2eBenchOptions): Promise<BenchSection> {
  const total = options.servers ?? 500;
  const concurrency = Math.min(options.concurrency ?? 50, total);
  const mode = options.mode ?? 'in-process';
  const id = randomBytes(4).toString('hex');
  const database = await ownDatabase(options.databaseUrl, `novarpc_bench_e2e_${id}`);
  const notificationTopic = `notifications_bench_${id}`;
  const config = resolveServiceConfig({
    host: 'bench',
    transportUrl: options.transportUrl,
    controlExchange: `nova_bench_${id}`,
    topics: { scheduler: `scheduler_bench_${id}`, compute: `compute_bench_${id}`, network: `network_bench_${id}` },
    databaseConnection: database.url,
    dbMaxPoolSize: mode === 'in-process' ? 30 : 10,
    autoMigrate: false,
    logLevel: 'warn',
    notificationTopics: [notificationTopic],
    reportInterval: 10,
    api: { listen: '127.0.0.1', port: 0, maxCount: 10 },
    fakeDriver: { spawnTimeMs: 0 },
  });
  let services: Awaited<ReturnType<typeof startBenchServices>> | undefined;
  let listener: NotificationListener | undefined;
  try {
    await prepareDatabase(database.url, total + concurrency);
    services = await startBenchServices(config, mode);
    const waiting = new Map<string, () => void>();
    const activeBeforeAnswer = new Set<string>();
    listener = new NotificationListener(services.transport, [{ topic: notificationTopic }], [
      {
        info: (_ctx, _publisher, eventType, payload) => {
          if (eventType !== 'compute.instance.create.end') return;
          const instanceId = String((payload as { instance_id?: unknown }).instance_id);
          const done = waiting.get(instanceId);
          if (done) done();
          else activeBeforeAnswer.add(instanceId);
        },
      },
    ]);
    await listener.start();
    const endpoint = `${services.apiUrl}/v2.1`;
    const bootOne = async (name: string): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`${endpoint}/servers`, {
        method: 'POST',
        headers: { 'x-auth-token': TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify({ server: { name, imageRef: IMAGE, flavorRef: '1' } }),
      });
      const body = (await response.json()) as { server?: { id: string } };
      if (response.status !== 202 || !body.server) throw new Error(`boot ${name}: HTTP ${response.status} ${JSON.stringify(body)}`);
      const serverId = body.server.id;
      if (!activeBeforeAnswer.delete(serverId)) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`server ${serverId} not ACTIVE after 60 s`)), 60_000);
          waiting.set(serverId, () => {
            clearTimeout(timer);
            waiting.delete(serverId);
            resolve();
          });
        });
      }
      return performance.now() - started;
    };
    // Warm-up: JIT, pools and channels, not measured.
    await Promise.all(Array.from({ length: concurrency }, (_, i) => bootOne(`warmup-${i}`)));
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) latencies.push(await bootOne(`bench-${next++}`));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const check = await fetch(`${endpoint}/servers/detail?name=bench-`, { headers: { 'x-auth-token': 'admin:bench' } });
    const servers = ((await check.json()) as { servers: Array<{ status: string; 'OS-EXT-SRV-ATTR:host'?: string }> }).servers;
    const active = servers.filter((s) => s.status === 'ACTIVE').length;
    const perHost = countBy(servers.map((s) => s['OS-EXT-SRV-ATTR:host'] ?? '?'));
    latencies.sort((a, b) => a - b);
    return {
      title: 'End to end: boot servers through the Compute API (RabbitMQ + MariaDB)',
      rows: [
        { name: `servers ACTIVE per second (${total} servers, ${concurrency} in flight)`, value: round(total / seconds), unit: 'servers/s', target: '>= 100 servers/s' },
        { name: 'boot latency p50 (POST to ACTIVE)', value: round(percentile(latencies, 0.5)), unit: 'ms' },
        { name: 'boot latency p99 (POST to ACTIVE)', value: round(percentile(latencies, 0.99)), unit: 'ms' },
      ],
      notes: [
        `${active}/${total} servers ACTIVE in GET /servers/detail; per host: ${Object.entries(perHost).map(([host, n]) => `${host} ${n}`).join(', ')}`,
        mode === 'processes'
          ? 'api, scheduler, network and 2 computes as separate worker processes (novarpc <service> via tsx), fake driver spawn time 0; load is real HTTP'
          : 'api, scheduler, network and 2 computes in the bench process (one transport, one pool), fake driver spawn time 0; load is real HTTP',
        `ACTIVE observed via compute.instance.create.end notifications; ${concurrency} warm-up boots not counted`,
        `transport ${options.transportUrl.replace(/:[^:@/]*@/, ':***@')}, database ${database.name} (dropped afterwards)`,
      ],
    };
  } finally {
    await listener?.stop().catch(() => undefined);
    await services?.stop().catch(() => undefined);
    await cleanBroker(config).catch((error: unknown) => process.stderr.write(`e2e bench: could not delete its queues: ${String(error)}\n`));
    await database.drop();
  }
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** A database of the bench's own on a MySQL server; SQLite URLs are used as they are. */
async function ownDatabase(serverUrl: string, name: string): Promise<ScratchDatabase> {
  if (serverUrl.startsWith('sqlite:')) return { url: serverUrl, name: serverUrl, drop: async () => {} };
  return createScratchDatabase(serverUrl, name);
}
