/**
 * A private Prometheus server for a test: Debian's `prometheus` binary with a config and
 * a data directory of its own, on a free port, scraping the given targets every second.
 * `stop()` kills it and removes its directory; a missing binary is an error naming the
 * package to install (never a skip).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';

export const PROMETHEUS_BINARY = process.env.NOVARPC_TEST_PROMETHEUS ?? '/usr/bin/prometheus';

/** A running Prometheus. */
export interface PrivatePrometheus {
  url: string;
  /** Runs an instant query; resolves with the result vector. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targets` (host:port, path /metrics) as job `novarpc`. */
export async function startPrometheus(targets: readonly string[]): Promise<PrivatePrometheus> {
  if (!existsSync(PROMETHEUS_BINARY)) {
    throw new Error(`no Prometheus at ${PROMETHEUS_BINARY}: install the Debian package "prometheus" (.ci/run does) or set NOVARPC_TEST_PROMETHEUS`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'novarpc-prometheus-'));
  const port = await freePort();
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 900ms',
    'scrape_configs:',
    '  - job_name: novarpc',
    '    static_configs:',
    `      - targets: [${targets.map((target) => `'${target}'`).join(', ')}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const child: ChildProcess = spawn(
    PROMETHEUS_BINARY,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killed = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killed);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as { status: string; data?: { result: never[] }; error?: string };
      if (body.status !== 'success') throw new Error(`Prometheus query ${promql} failed: ${body.error}`);
      return body.data!.result;
    },
    stop,
  };
}

async function waitReady(url: string, child: ChildProcess, stderr: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Prometheus exited (${child.exitCode}): ${stderr.join('').slice(-2000)}`);
    const ready = await fetch(`${url}/-/ready`).then((response) => response.ok, () => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`Prometheus not ready within 60 s: ${stderr.join('').slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
