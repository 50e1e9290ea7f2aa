/**
 * End-to-end benchmark: servers booted to ACTIVE per second, and boot latency (HTTP
 * POST /servers until the server is ACTIVE), on RabbitMQ + MariaDB with api,
 * scheduler, network and two computes (fake driver, spawn time 0), against the
 * database's floor measured in the same run.
 *
 * By default the services all run in this process (one AMQP transport, one MariaDB
 * pool; every message still goes through RabbitMQ and every state change through
 * MariaDB). `mode: 'processes'` starts them as separate worker processes
 * (`novarpc <service>`, as in production): on a 2-core machine five Node processes plus
 * the broker and the database compete for the cores. The load is real HTTP:
 * `concurrency` clients each boot a server and wait for it to be ACTIVE before booting
 * the next. "ACTIVE" is observed through the `compute.instance.create.end`
 * notification, sent right after the ACTIVE update commits (polling 50 servers over
 * HTTP would load the API more than the boots do); at the end every server is checked
 * ACTIVE through GET /servers/detail.
 *
 * In-process, every SQL statement of a boot is counted by its request_id (see
 * e2e-commits.ts): commits and statements per boot, from POST to ACTIVE. The floor
 * (e2e-floor.ts) is raw mysql2 doing that many single-row commits per boot at the same
 * concurrency on the same MariaDB, in slices that alternate with the real run's, so
 * load drifting on a shared machine hits both alike.
 */
import { randomBytes } from 'node:crypto';
import { NotificationListener } from '../src/rpc/index.js';
import { resolveServiceConfig } from '../src/services/config.js';
import { cleanBroker, prepareDatabase, startBenchServices, type ServicesMode } from './e2e-services.js';
import type { BenchRow, BenchSection } from './types.js';
import { CommitCounter } from './e2e-commits.js';
import { DatabaseFloor } from './e2e-floor.js';
import { createScratchDatabase, type ScratchDatabase } from '../test/support/scratch.js';

/** Options of {@link runE2eBench}. */
export interface E2eBenchOptions {
  transportUrl: string;
  /** A MariaDB/MySQL server URL; the bench creates (and drops) a database of its own there. */
  databaseUrl: string;
  /** Servers to boot; default 1000. */
  servers?: number;
  /** Boots in flight; default 50. */
  concurrency?: number;
  /** Slices per side: the real run and the floor alternate this many times; default 4. */
  rounds?: number;
  /** Everything in this process (default) or separate worker processes. */
  mode?: ServicesMode;
}

const IMAGE = '928e2889-6359-40ef-b44c-0aa0b7394be1';
const TOKEN = 'bench:bench';

/** Runs the benchmark and returns its section of the report. */
export async function runE2eBench(options: E2eBenchOptions): Promise<BenchSection> {
  const total = options.servers ?? 1000;
  const concurrency = Math.min(options.concurrency ?? 50, total);
  const rounds = Math.max(1, options.rounds ?? 4);
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
  // The services' connections in all: one pool in-process, one per worker process.
  const servicePoolSize = mode === 'in-process' ? config.dbMaxPoolSize : config.dbMaxPoolSize * 5;
  let services: Awaited<ReturnType<typeof startBenchServices>> | undefined;
  let listener: NotificationListener | undefined;
  let counter: CommitCounter | undefined;
  let floor: DatabaseFloor | undefined;
  try {
    await prepareDatabase(database.url, total + concurrency);
    services = await startBenchServices(config, mode);
    counter = services.knex ? new CommitCounter(services.knex, process.env.NOVARPC_BENCH_E2E_TRACE === '1') : undefined;
    const active = new ActiveWaiter();
    listener = new NotificationListener(services.transport, [{ topic: notificationTopic }], [
      {
        info: (_ctx, _publisher, eventType, payload) => {
          if (eventType === 'compute.instance.create.end') active.arrived(String((payload as { instance_id?: unknown }).instance_id));
        },
      },
    ]);
    await listener.start();
    const endpoint = `${services.apiUrl}/v2.1`;
    const requestIds: string[] = [];
    const bootOne = async (name: string): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`${endpoint}/servers`, {
        method: 'POST',
        headers: { 'x-auth-token': TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify({ server: { name, imageRef: IMAGE, flavorRef: '1' } }),
      });
      const body = (await response.json()) as { server?: { id: string } };
      if (response.status !== 202 || !body.server) throw new Error(`boot ${name}: HTTP ${response.status} ${JSON.stringify(body)}`);
      requestIds.push(response.headers.get('x-openstack-request-id') ?? '');
      await active.wait(body.server.id);
      return performance.now() - started;
    };
    const novarpcSlice = async (boots: number, prefix: string): Promise<Slice> => {
      let next = 0;
      const latenciesMs: number[] = [];
      const cpu = process.cpuUsage();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: Math.min(concurrency, boots) }, async () => {
          while (next < boots) latenciesMs.push(await bootOne(`${prefix}-${next++}`));
        }),
      );
      const used = process.cpuUsage(cpu);
      return { boots, elapsedMs: performance.now() - started, latenciesMs, cpuMs: (used.user + used.system) / 1000 };
    };
    // Warm-up: JIT, pools and channels, not measured; its boots tell the floor how many commits a boot takes.
    await novarpcSlice(concurrency, 'warmup');
    const warmupIds = requestIds.splice(0);
    const warmup = counter?.totals(warmupIds);
    // NOVARPC_BENCH_E2E_TRACE=1: the statements of the last warm-up boot, to see where its round trips go.
    if (process.env.NOVARPC_BENCH_E2E_TRACE === '1') process.stderr.write(`statements of one boot:\n  ${counter?.statementsOf(warmupIds.at(-1) ?? '').join('\n  ')}\n`);
    const commitsPerBoot = warmup ? Math.max(1, Math.round(warmup.commits / warmup.requests)) : undefined;
    floor = commitsPerBoot === undefined ? undefined : await DatabaseFloor.open(database.url, servicePoolSize);
    if (floor && commitsPerBoot) await floor.run(concurrency, concurrency, commitsPerBoot);
    const real = emptySlice();
    const base = emptySlice();
    const perSlice = Math.ceil(total / rounds);
    for (let round = 0; round < rounds; round++) {
      const boots = Math.min(perSlice, total - round * perSlice);
      if (boots <= 0) break;
      addSlice(real, await novarpcSlice(boots, `bench-r${round}`));
      if (floor && commitsPerBoot) {
        const cpu = process.cpuUsage();
        const slice = await floor.run(boots, concurrency, commitsPerBoot);
        const used = process.cpuUsage(cpu);
        addSlice(base, { ...slice, cpuMs: (used.user + used.system) / 1000 });
      }
    }
    const measured = counter?.totals(requestIds);
    const check = await fetch(`${endpoint}/servers/detail?name=bench-r`, { headers: { 'x-auth-token': 'admin:bench' } });
    const listed = (await check.json()) as { servers?: Array<{ status: string; 'OS-EXT-SRV-ATTR:host'?: string }> };
    if (!check.ok || !listed.servers) throw new Error(`GET /servers/detail after the run: HTTP ${check.status} ${JSON.stringify(listed).slice(0, 300)}`);
    const servers = listed.servers;
    const activeCount = servers.filter((s) => s.status === 'ACTIVE').length;
    const perHost = countBy(servers.map((s) => s['OS-EXT-SRV-ATTR:host'] ?? '?'));
    const rate = real.boots / (real.elapsedMs / 1000);
    const floorRate = base.boots > 0 ? base.boots / (base.elapsedMs / 1000) : undefined;
    real.latenciesMs.sort((a, b) => a - b);
    base.latenciesMs.sort((a, b) => a - b);
    const vsFloor = (value: number, baseline: number | undefined) => (baseline === undefined ? {} : { baseline: round1(baseline), ratio: Math.round((value / baseline) * 100) / 100 });
    const latency = (p: number) => ({ value: round1(percentile(real.latenciesMs, p)), unit: 'ms', ...(base.boots > 0 ? { baseline: round1(percentile(base.latenciesMs, p)) } : {}) });
    const rows: BenchRow[] = [
      { name: `servers ACTIVE per second (${real.boots} servers, ${concurrency} in flight)`, value: round1(rate), unit: 'boots/s', ...vsFloor(rate, floorRate), target: '>= 0.7x floor; >= 100/s' },
      { name: 'boot latency p50 (POST to ACTIVE)', ...latency(0.5) },
      { name: 'boot latency p99 (POST to ACTIVE)', ...latency(0.99) },
    ];
    if (measured) {
      rows.push({ name: 'SQL commits per boot (POST to ACTIVE)', value: round1(measured.commits / measured.requests), unit: 'commits' });
      rows.push({ name: 'SQL statements per boot (round trips)', value: round1(measured.statements / measured.requests), unit: 'statements' });
    }
    rows.push({
      name: 'CPU of the bench process per boot (services + HTTP load)',
      value: round1(real.cpuMs / real.boots),
      unit: 'ms',
      ...(base.boots > 0 ? { baseline: round1(base.cpuMs / base.boots) } : {}),
    });
    return {
      title: 'End to end: boot servers through the Compute API (RabbitMQ + MariaDB) against the database floor',
      rows,
      notes: [
        `${activeCount}/${real.boots} servers ACTIVE in GET /servers/detail; per host: ${Object.entries(perHost).map(([host, n]) => `${host} ${n}`).join(', ')}`,
        mode === 'processes'
          ? 'api, scheduler, network and 2 computes as separate worker processes (novarpc <service>), fake driver spawn time 0; load is real HTTP'
          : 'api, scheduler, network and 2 computes in the bench process (one transport, one pool), fake driver spawn time 0; load is real HTTP',
        floorRate === undefined
          ? 'floor not measured: commits are counted only when the services run in the bench process'
          : `baseline = the floor: raw mysql2, ${commitsPerBoot} single-row autocommit statements per boot (1 INSERT + UPDATEs by uuid), ${concurrency} boots in flight, pool of ${servicePoolSize} (as the services'), same MariaDB; ${rounds} slices per side, alternating`,
        ...(measured ? [`commits per boot by kind: ${measured.kinds.map(([kind, n]) => `${kind} ${round1(n / measured.requests)}`).join(', ')}`] : []),
        `ACTIVE observed via compute.instance.create.end notifications; ${concurrency} warm-up boots not counted`,
        `transport ${options.transportUrl.replace(/:[^:@/]*@/, ':***@')}, database ${database.name} (dropped afterwards)`,
      ],
    };
  } finally {
    counter?.stop();
    await floor?.close().catch(() => undefined);
    await listener?.stop().catch(() => undefined);
    await services?.stop().catch(() => undefined);
    await cleanBroker(config).catch((error: unknown) => process.stderr.write(`e2e bench: could not delete its queues: ${String(error)}\n`));
    await database.drop();
  }
}

interface Slice {
  boots: number;
  elapsedMs: number;
  latenciesMs: number[];
  /** CPU time of this process while the slice ran. */
  cpuMs: number;
}

function emptySlice(): Slice {
  return { boots: 0, elapsedMs: 0, latenciesMs: [], cpuMs: 0 };
}

function addSlice(total: Slice, part: Slice): void {
  total.boots += part.boots;
  total.elapsedMs += part.elapsedMs;
  total.latenciesMs.push(...part.latenciesMs);
  total.cpuMs += part.cpuMs;
}

/** Servers awaited until their create.end notification arrives (which may come before the POST's answer). */
class ActiveWaiter {
  private readonly waiting = new Map<string, () => void>();
  private readonly early = new Set<string>();

  arrived(serverId: string): void {
    const done = this.waiting.get(serverId);
    if (done) done();
    else this.early.add(serverId);
  }

  async wait(serverId: string): Promise<void> {
    if (this.early.delete(serverId)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server ${serverId} not ACTIVE after 60 s`)), 60_000);
      this.waiting.set(serverId, () => {
        clearTimeout(timer);
        this.waiting.delete(serverId);
        resolve();
      });
    });
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

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** A database of the bench's own on a MySQL server; SQLite URLs are used as they are. */
async function ownDatabase(serverUrl: string, name: string): Promise<ScratchDatabase> {
  if (serverUrl.startsWith('sqlite:')) return { url: serverUrl, name: serverUrl, drop: async () => {} };
  return createScratchDatabase(serverUrl, name);
}
