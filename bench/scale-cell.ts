/**
 * The processes of the scale benchmark's cell: network, scheduler and api one process
 * each, and the compute hosts spread over a few processes (`novarpc compute
 * --compute-hosts ...`: many compute services per process, one broker connection and
 * one database pool each), all as in production (`novarpc <service>`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../test/support/scratch.js';
import { nodeArgsFor } from './entry.js';

const ROOT = resolve(import.meta.dirname, '..');

/** What the cell runs on. */
export interface CellSettings {
  transportUrl: string;
  databaseUrl: string;
  exchange: string;
  notificationTopic: string;
  /** The compute hosts of each compute process. */
  computeProcesses: readonly string[][];
  reportInterval: number;
  periodicInterval: number;
}

/** One scheduling decision as the scheduler logged it. */
export interface Decision {
  /** Choosing the host in memory. */
  choiceMs: number;
  /** Choosing and claiming (the claim's database transaction included). */
  decisionMs: number;
}

/** A running cell. */
export interface Cell {
  apiUrl: string;
  /** The pids of the compute processes. */
  computePids: number[];
  /** Every pid of the cell. */
  allPids: number[];
  /** Decisions the scheduler logged since the last {@link Cell.clearDecisions}. */
  readonly decisions: Decision[];
  clearDecisions(): void;
  /** Resident set size of each compute process, in bytes. */
  computeRss(): number[];
  stop(): Promise<void>;
}

/** Starts the cell and waits until every service reports up. */
export async function startCell(settings: CellSettings): Promise<Cell> {
  const dir = await mkdtemp(join(tmpdir(), 'novarpc-scale-'));
  const port = await freePort();
  const file = join(dir, 'nova.conf');
  await writeFile(file, novaConf(settings, port));
  const children: ChildProcess[] = [];
  const decisions: Decision[] = [];
  const start = (args: string[], onLine?: (line: string) => void) => {
    const child = spawn(process.execPath, [...nodeArgsFor('src/cli/main'), ...args, '--config-file', file], {
      cwd: ROOT,
      stdio: ['ignore', onLine ? 'pipe' : 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    if (onLine) {
      let partial = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) onLine(line);
      });
    }
    child.once('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`scale bench worker ${args.slice(0, 3).join(' ')} exited ${code}: ${stderr.slice(-2000)}\n`);
    });
    children.push(child);
    return child;
  };
  start(['network', '--host', 'scale-net']);
  start(['scheduler', '--host', 'scale-sched', '--log-level', 'info'], (line) => {
    if (!line.includes('"decision_ms"')) return;
    try {
      const entry = JSON.parse(line) as { choice_ms: number; decision_ms: number };
      decisions.push({ choiceMs: entry.choice_ms, decisionMs: entry.decision_ms });
    } catch {
      // not a log line
    }
  });
  start(['api', '--host', 'scale-api']);
  const computes = settings.computeProcesses.map((hosts) => start(['compute', '--host', hosts[0]!, '--compute-hosts', compactHostList(hosts)]));
  const apiUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
            child.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const hosts = settings.computeProcesses.reduce((sum, list) => sum + list.length, 0);
    await waitForServices(apiUrl, children, hosts + 3);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    apiUrl,
    computePids: computes.map((child) => child.pid!),
    allPids: children.map((child) => child.pid!),
    decisions,
    clearDecisions: () => void decisions.splice(0),
    computeRss: () => computes.map((child) => rssBytes(child.pid!)),
    stop,
  };
}

/** `prefix[001-250]` when the hosts are such a run, else the names joined by commas. */
function compactHostList(hosts: readonly string[]): string {
  const match = /^(.*?)(\d+)$/.exec(hosts[0]!);
  if (match) {
    const [, prefix, first] = match as unknown as [string, string, string];
    const width = first.length;
    const expected = hosts.map((_, i) => `${prefix}${String(Number(first) + i).padStart(width, '0')}`);
    if (expected.every((name, i) => name === hosts[i])) return `${prefix}[${first}-${String(Number(first) + hosts.length - 1).padStart(width, '0')}]`;
  }
  return hosts.join(',');
}

function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Resolves when `expected` services are up in os-services. */
async function waitForServices(apiUrl: string, children: readonly ChildProcess[], expected: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (children.some((child) => child.exitCode !== null)) throw new Error('a scale bench worker exited during start-up');
    try {
      const response = await fetch(`${apiUrl}/v2.1/os-services`, { headers: { 'x-auth-token': 'admin:bench' }, signal: AbortSignal.timeout(30_000) });
      const body = (await response.json()) as { services?: Array<{ state: string }> };
      if ((body.services ?? []).filter((service) => service.state === 'up').length >= expected) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the cell's ${expected} services did not come up within 300 s`);
    await new Promise((done) => setTimeout(done, 500));
  }
}

function novaConf(settings: CellSettings, port: number): string {
  return [
    '[DEFAULT]',
    `transport_url = ${settings.transportUrl}`,
    `control_exchange = ${settings.exchange}`,
    `report_interval = ${settings.reportInterval}`,
    `periodic_interval = ${settings.periodicInterval}`,
    'log_level = warn',
    '[database]',
    `connection = ${settings.databaseUrl}`,
    'auto_migrate = false',
    'max_pool_size = 10',
    '[api]',
    'listen = 127.0.0.1',
    `listen_port = ${port}`,
    '[notifications]',
    `topics = ${settings.notificationTopic}`,
    '[fake_driver]',
    'spawn_time = 0',
    // Room for every server of the run on two hosts as on a thousand (same config in both runs).
    'vcpus = 100000',
    'memory_mb = 100000000',
    'local_gb = 10000000',
    '',
  ].join('\n');
}
