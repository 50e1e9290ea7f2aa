/**
 * Scale benchmark: a cell of many compute hosts on one RabbitMQ and one MariaDB. Each
 * host is a real compute service (its `compute.<host>` queue, its heartbeat every
 * report_interval, its periodic tasks), a few hundred per process (`novarpc compute
 * --compute-hosts`), beside network, scheduler and api processes. Servers are booted
 * through the Compute API with `concurrency` in flight, once with `hosts` hosts and once,
 * in the same run and the same set-up, with 2; the ratio of the two rates is the cost
 * of the cell's size. Also measured: the scheduler's decisions (from its log), the
 * broker objects per compute host against one Python oslo.messaging RPC server, the
 * heartbeat writes on the database, and the RSS per compute host.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import { getTransport, NotificationListener, type Transport } from '../src/rpc/index.js';
import { createScratchDatabase } from '../test/support/scratch.js';
import { prepareDatabase } from './e2e-services.js';
import { addVhost, brokerObjectMemory, deleteVhost, footprint, type BrokerFootprint } from './scale-broker.js';
import { startCell, type Cell, type Decision } from './scale-cell.js';
import type { BenchRow, BenchSection } from './types.js';

/** Options of {@link runScaleBench}. */
export interface ScaleBenchOptions {
  /** A RabbitMQ URL; the bench runs in virtual hosts of its own there (rabbitmqctl on this machine). */
  transportUrl: string;
  /** A MariaDB/MySQL server URL; the bench creates (and drops) databases of its own. */
  databaseUrl: string;
  /** Compute hosts of the big cell; default 1000. */
  hosts?: number;
  /** Processes they run in; default 4. */
  computeProcesses?: number;
  /** Servers booted in each run; default 5000. */
  servers?: number;
  /** Boots in flight; default 50. */
  concurrency?: number;
  /** Seconds between heartbeats; default 10 (Nova's). */
  reportInterval?: number;
  /** Seconds between periodic tasks; default 60 (Nova's). */
  periodicInterval?: number;
}

const IMAGE = '928e2889-6359-40ef-b44c-0aa0b7394be1';

interface CellRun {
  hosts: number;
  processes: number;
  serversPerSecond: number;
  bootP50: number;
  bootP99: number;
  decisions: Decision[];
  active: number;
  hostsUsed: number;
  /** Heartbeat rows written per second on the database. */
  heartbeatRowsPerSecond: number;
  /** Of the database samples that caught one of the cell's statements running, the share that was a heartbeat. */
  heartbeatShare: number;
  dbSamples: number;
  computeRss: number[];
  broker?: BrokerFootprint;
  brokerMemoryDelta?: number;
}

/** Runs the benchmark and returns its section of the report. */
export async function runScaleBench(options: ScaleBenchOptions): Promise<BenchSection> {
  const hosts = options.hosts ?? 1000;
  const processes = Math.max(1, Math.min(options.computeProcesses ?? 4, hosts));
  const servers = options.servers ?? 5000;
  const concurrency = Math.min(options.concurrency ?? 50, servers);
  const id = randomBytes(4).toString('hex');
  const vhost = `novarpc_scale_${id}`;
  const osloVhost = `novarpc_scale_oslo_${id}`;
  try {
    await addVhost(vhost);
    await addVhost(osloVhost);
    // oslo first: the quickest part, and a missing Python client fails the run at once.
    const oslo = await osloFootprint(withVhost(options.transportUrl, osloVhost));
    const common = { id, vhost, servers, concurrency, reportInterval: options.reportInterval ?? 10, periodicInterval: options.periodicInterval ?? 60, ...options };
    const perProcess = Math.ceil(hosts / processes);
    const lists = Array.from({ length: processes }, (_, p) =>
      Array.from({ length: Math.min(perProcess, hosts - p * perProcess) }, (_, i) => `scale-p${p + 1}-c${String(i + 1).padStart(4, '0')}`),
    ).filter((list) => list.length > 0);
    // The big cell first: its start-up is the likelier part to fail.
    const big = await runCell({ ...common, processLists: lists, measureBroker: true });
    const small = await runCell({ ...common, processLists: [['scale-base-c1'], ['scale-base-c2']] });
    return report(options, small, big, oslo, { servers, concurrency, reportInterval: common.reportInterval, periodicInterval: common.periodicInterval });
  } finally {
    await deleteVhost(vhost);
    await deleteVhost(osloVhost);
  }
}

interface CellRunOptions extends ScaleBenchOptions {
  id: string;
  vhost: string;
  servers: number;
  concurrency: number;
  reportInterval: number;
  periodicInterval: number;
  processLists: string[][];
  measureBroker?: boolean;
}

async function runCell(options: CellRunOptions): Promise<CellRun> {
  const phase = (what: string) => process.stderr.write(`scale bench: ${new Date().toISOString().slice(11, 19)} ${what}\n`);
  const hosts = options.processLists.reduce((sum, list) => sum + list.length, 0);
  const database = await createScratchDatabase(options.databaseUrl, `novarpc_bench_scale_${options.id}_${hosts}`);
  const exchange = `nova_scale_${options.id}`;
  const notificationTopic = `notifications_scale_${options.id}`;
  const transportUrl = withVhost(options.transportUrl, options.vhost);
  let cell: Cell | undefined;
  let transport: Transport | undefined;
  let listener: NotificationListener | undefined;
  const sql = await mysql.createConnection({ uri: database.url.replace(/^mariadb:/, 'mysql:') });
  try {
    await prepareDatabase(database.url, options.servers + options.concurrency);
    phase(`starting a cell of ${hosts} hosts`);
    const memoryBefore = options.measureBroker ? await brokerObjectMemory() : 0;
    cell = await startCell({
      transportUrl,
      databaseUrl: database.url,
      exchange,
      notificationTopic,
      computeProcesses: options.processLists,
      reportInterval: options.reportInterval,
      periodicInterval: options.periodicInterval,
    });
    const brokerMemoryDelta = options.measureBroker ? (await brokerObjectMemory()) - memoryBefore : undefined;
    transport = getTransport(transportUrl, { options: { control_exchange: exchange } });
    const boots = new BootWaiter();
    listener = new NotificationListener(transport, [{ topic: notificationTopic }], [{ info: (_c, _p, type, payload) => boots.notified(type, payload) }]);
    await listener.start();
    const endpoint = `${cell.apiUrl}/v2.1`;
    const bootOne = async (name: string): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`${endpoint}/servers`, {
        method: 'POST',
        headers: { 'x-auth-token': 'bench:bench', 'content-type': 'application/json' },
        body: JSON.stringify({ server: { name, imageRef: IMAGE, flavorRef: '1' } }),
      });
      const body = (await response.json()) as { server?: { id: string } };
      if (response.status !== 202 || !body.server) throw new Error(`boot ${name}: HTTP ${response.status} ${JSON.stringify(body)}`);
      await boots.active(body.server.id);
      return performance.now() - started;
    };
    phase('cell up; warming up');
    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => bootOne(`warmup-${i}`)));
    phase(`booting ${options.servers} servers`);
    cell.clearDecisions();
    const beatsBefore = await heartbeatCount(sql);
    const sampler = new StatementSampler(sql, database.name);
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < options.servers) latencies.push(await bootOne(`bench-${next++}`));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    phase(`booted in ${seconds.toFixed(1)} s`);
    await sampler.stop();
    const beatsAfter = await heartbeatCount(sql);
    const broker = options.measureBroker ? await footprint(options.vhost, new Set(cell.computePids)) : undefined;
    const [rows] = await sql.query('SELECT COUNT(*) AS active, COUNT(DISTINCT host) AS hosts FROM instances WHERE deleted = 0 AND vm_state = ? AND display_name LIKE ?', ['active', 'bench-%']);
    const counts = (rows as Array<{ active: number; hosts: number }>)[0]!;
    latencies.sort((a, b) => a - b);
    return {
      hosts,
      processes: options.processLists.length,
      serversPerSecond: options.servers / seconds,
      bootP50: percentile(latencies, 0.5),
      bootP99: percentile(latencies, 0.99),
      decisions: [...cell.decisions],
      active: Number(counts.active),
      hostsUsed: Number(counts.hosts),
      heartbeatRowsPerSecond: (beatsAfter - beatsBefore) / seconds,
      heartbeatShare: sampler.share,
      dbSamples: sampler.busy,
      computeRss: cell.computeRss(),
      broker,
      brokerMemoryDelta,
    };
  } finally {
    await listener?.stop().catch(() => undefined);
    await transport?.close().catch(() => undefined);
    await cell?.stop();
    await sql.end().catch(() => undefined);
    await database.drop();
  }
}

/** Waits for each server's compute.instance.create.end notification. */
class BootWaiter {
  private readonly waiting = new Map<string, () => void>();
  private readonly early = new Set<string>();

  notified(eventType: string, payload: unknown): void {
    if (eventType !== 'compute.instance.create.end') return;
    const id = String((payload as { instance_id?: unknown }).instance_id);
    const done = this.waiting.get(id);
    if (done) done();
    else this.early.add(id);
  }

  active(serverId: string): Promise<void> {
    if (this.early.delete(serverId)) return Promise.resolve();
    return new Promise<void>((resolveActive, reject) => {
      const timer = setTimeout(() => reject(new Error(`server ${serverId} not ACTIVE after 120 s`)), 120_000);
      this.waiting.set(serverId, () => {
        clearTimeout(timer);
        this.waiting.delete(serverId);
        resolveActive();
      });
    });
  }
}

/** Heartbeats recorded so far by the compute services (sum of report_count). */
async function heartbeatCount(sql: mysql.Connection): Promise<number> {
  const [rows] = await sql.query("SELECT COALESCE(SUM(report_count), 0) AS beats FROM services WHERE `binary` = 'nova-compute'");
  return Number((rows as Array<{ beats: number }>)[0]!.beats);
}

/**
 * Samples the database's process list every few milliseconds: of the samples that
 * caught a statement of the cell's database running, the share that was a heartbeat
 * (a sampling profile of the database's time; MariaDB's performance_schema is off).
 */
class StatementSampler {
  busy = 0;
  heartbeats = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly sql: mysql.Connection,
    private readonly database: string,
  ) {
    this.done = this.loop();
  }

  get share(): number {
    return this.busy === 0 ? 0 : this.heartbeats / this.busy;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const [rows] = await this.sql.query(
        "SELECT INFO FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Query' AND ID <> CONNECTION_ID() AND INFO IS NOT NULL",
        [this.database],
      );
      for (const row of rows as Array<{ INFO: string }>) {
        this.busy += 1;
        if (/^update `services` set `report_count`/i.test(row.INFO)) this.heartbeats += 1;
      }
      await new Promise((done) => setTimeout(done, 5));
    }
  }
}

/** Starts one oslo.messaging RPC server (and a client that called it) in its vhost; counts what it holds. */
async function osloFootprint(transportUrl: string): Promise<BrokerFootprint> {
  const dir = await mkdtemp(join(tmpdir(), 'novarpc-scale-oslo-'));
  const conf = join(dir, 'oslo.conf');
  // Same queue type as novarpc's default (quorum topic and server queues).
  await writeFile(conf, '[oslo_messaging_rabbit]\nrabbit_quorum_queue = true\n');
  const child = spawn('/usr/bin/python3', [osloScript(), transportUrl, conf, 'compute', 'oslo-host'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  try {
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`the oslo.messaging server did not start within 60 s: ${stderr}`)), 60_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString('utf8').includes('READY')) {
          clearTimeout(timer);
          ready();
        }
      });
      child.once('exit', (code) => fail(new Error(`the oslo.messaging server exited ${code}: ${stderr}`)));
    });
    await new Promise((done) => setTimeout(done, 1000)); // its consumers settle
    return await footprint(new URL(transportUrl).pathname.slice(1));
  } finally {
    child.stdin!.end();
    await new Promise<void>((done) => {
      if (child.exitCode !== null) return done();
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(kill);
        done();
      });
    });
    await rm(dir, { recursive: true, force: true });
  }
}

function osloScript(): string {
  const candidates = [resolve(import.meta.dirname, 'scale_oslo_server.py'), resolve(import.meta.dirname, '../../bench/scale_oslo_server.py')];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new Error(`scale_oslo_server.py not found (looked in ${candidates.join(', ')})`);
  return found;
}

function withVhost(url: string, vhost: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(vhost)}`;
  return parsed.toString();
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function report(
  options: ScaleBenchOptions,
  small: CellRun,
  big: CellRun,
  oslo: BrokerFootprint,
  sizes: { servers: number; concurrency: number; reportInterval: number; periodicInterval: number },
): BenchSection {
  const sorted = (pick: (d: Decision) => number, run: CellRun) => run.decisions.map(pick).sort((a, b) => a - b);
  const choice = sorted((d) => d.choiceMs, big);
  const decision = sorted((d) => d.decisionMs, big);
  const smallDecision = sorted((d) => d.decisionMs, small);
  const n = big.hosts;
  const per = (value: number) => round(value / n, 3);
  const b = big.broker!;
  const rssPerHost = big.computeRss.reduce((sum, rss) => sum + rss, 0) / n;
  const smallRss = small.computeRss.reduce((sum, rss) => sum + rss, 0) / small.hosts;
  const latencyRatio = (baseline: number, value: number) => (value > 0 ? round(baseline / value, 2) : undefined);
  const rows: BenchRow[] = [
    {
      name: `servers ACTIVE per second, ${n} hosts vs 2 (${sizes.servers} servers, ${sizes.concurrency} in flight)`,
      value: round(big.serversPerSecond),
      unit: 'servers/s',
      baseline: round(small.serversPerSecond),
      ratio: round(big.serversPerSecond / small.serversPerSecond, 2),
      target: '>= 0.8x',
    },
    { name: `boot latency p99 (POST to ACTIVE), ${n} hosts vs 2`, value: round(big.bootP99), unit: 'ms', baseline: round(small.bootP99), ratio: latencyRatio(small.bootP99, big.bootP99) },
    { name: `scheduler: choosing a host p50, ${n} hosts`, value: round(percentile(choice, 0.5), 3), unit: 'ms' },
    { name: `scheduler: choosing a host p99, ${n} hosts`, value: round(percentile(choice, 0.99), 3), unit: 'ms', target: '<= 10 ms' },
    { name: `scheduler decision (choose + claim transaction) p50, ${n} hosts vs 2`, value: round(percentile(decision, 0.5), 2), unit: 'ms', baseline: round(percentile(smallDecision, 0.5), 2), ratio: latencyRatio(percentile(smallDecision, 0.5), percentile(decision, 0.5)) },
    { name: `scheduler decision (choose + claim transaction) p99, ${n} hosts vs 2`, value: round(percentile(decision, 0.99), 2), unit: 'ms', baseline: round(percentile(smallDecision, 0.99), 2), ratio: latencyRatio(percentile(smallDecision, 0.99), percentile(decision, 0.99)), target: '<= 10 ms' },
    { name: 'broker queues per compute host vs per oslo.messaging service', value: per(b.queues), unit: 'queues', baseline: oslo.queues, target: '<= oslo' },
    { name: 'broker connections per compute host vs per oslo service', value: per(b.connections), unit: 'conns', baseline: oslo.connections, target: '<= oslo' },
    { name: 'broker channels per compute host vs per oslo service', value: per(b.channels), unit: 'channels', baseline: oslo.channels, target: '<= oslo' },
    { name: 'broker consumers per compute host vs per oslo service', value: per(b.consumers), unit: 'consumers', baseline: oslo.consumers },
    { name: 'broker queue memory per compute host vs per oslo service', value: round(b.queueMemoryBytes / n / 1024), unit: 'KiB', baseline: round(oslo.queueMemoryBytes / 1024), target: '<= oslo' },
    { name: 'broker memory for connections, channels, queues per compute host (node-wide delta)', value: round((big.brokerMemoryDelta ?? 0) / n / 1024), unit: 'KiB' },
    { name: `heartbeat rows written per second, ${n} hosts`, value: round(big.heartbeatRowsPerSecond), unit: 'rows/s' },
    { name: `heartbeat statements per second, ${big.processes} compute processes`, value: round(big.processes / sizes.reportInterval, 2), unit: 'stmt/s' },
    { name: 'heartbeats: share of the database time (process-list samples)', value: round(big.heartbeatShare * 100, 2), unit: '%' },
    { name: `RSS per compute host (${Math.ceil(n / big.processes)}-host processes vs 1-host processes)`, value: round(rssPerHost / 1024 / 1024, 2), unit: 'MiB', baseline: round(smallRss / 1024 / 1024, 1), ratio: round(smallRss / rssPerHost, 1) },
  ];
  return {
    title: `Scale: a ${n}-host cell (RabbitMQ + MariaDB, processes)`,
    rows,
    notes: [
      `${n} compute hosts in ${big.processes} processes (novarpc compute --compute-hosts), plus network, scheduler and api processes; baseline: 2 hosts in 2 processes, same config, same run`,
      `${sizes.servers} servers per run through POST /servers, ${sizes.concurrency} in flight, ${sizes.concurrency} warm-up boots not counted; ACTIVE: ${big.active}/${sizes.servers} on ${big.hostsUsed} hosts (${n}-host run), ${small.active}/${sizes.servers} on ${small.hostsUsed} (2-host run)`,
      `report_interval ${sizes.reportInterval} s, periodic_interval ${sizes.periodicInterval} s; heartbeats are one UPDATE per compute process per interval; ${big.dbSamples} busy process-list samples`,
      `scheduler times from its log (${big.decisions.length} decisions at ${n} hosts, ${small.decisions.length} at 2): choosing = the in-memory pass over the cached host states, decision = choosing plus the claim's transaction`,
      `broker counts: rabbitmqctl in the run's own vhost, objects of the compute processes (a queue shared by all hosts, like compute, counts once); oslo.messaging ${'(Debian python3)'}: one RPC server plus one call from a client, rabbit_quorum_queue = true like novarpc's default`,
      `RSS: the compute processes' VmRSS after the run divided by their hosts; transport ${options.transportUrl.replace(/:[^:@/]*@/, ':***@')}`,
    ],
  };
}
