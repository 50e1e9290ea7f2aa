/**
 * Cost of cross-server duplicate suppression: casts processed per second by one
 * RpcServer on RabbitMQ with the default per-server window (the baseline) against the
 * same server claiming every `_unique_id` in a shared SQL table (SqlDuplicateStore) on
 * MariaDB and on a SQLite file, measured in the same run and alternated in slices.
 * Also the latency of one claim on MariaDB, sequentially.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import knexFactory, { type Knex } from 'knex';
import mysql from 'mysql2/promise';
import { createLogger } from '../src/log/logger.js';
import { getTransport, RequestContext, RpcClient, RpcServer, SqlDuplicateStore, type DuplicateStore } from '../src/rpc/index.js';
import type { BenchSection } from './types.js';

/** Sizes of one run. */
export interface DedupBenchOptions {
  transportUrl: string;
  databaseUrl: string;
  /** Casts per variant (split in slices). Default 6000. */
  casts?: number;
  /** Casts in flight. Default 64. */
  concurrency?: number;
}

const context = new RequestContext({ userId: 'bench', projectId: 'bench' });
const SLICES = 3;

/** Runs the section. */
export async function runDedupBench(options: DedupBenchOptions): Promise<BenchSection> {
  const casts = options.casts ?? 6000;
  const concurrency = options.concurrency ?? 64;
  const database = `nrpc_bench_dedup_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: options.databaseUrl.replace(/^mariadb:/, 'mysql:') });
  await admin.query(`CREATE DATABASE \`${database}\``);
  const mariaUrl = new URL(options.databaseUrl.replace(/^mariadb:/, 'mysql:'));
  mariaUrl.pathname = `/${database}`;
  const sqliteFile = join(tmpdir(), `${database}.sqlite`);
  const maria = knexFactory({ client: 'mysql2', connection: mariaUrl.toString(), pool: { min: 0, max: 10 } });
  const sqlite = knexFactory({ client: 'better-sqlite3', connection: { filename: sqliteFile }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
  try {
    const variants: Array<{ name: string; store: () => DuplicateStore | undefined }> = [
      { name: 'window', store: () => undefined },
      { name: 'mariadb', store: () => new SqlDuplicateStore(maria) },
      { name: 'sqlite', store: () => new SqlDuplicateStore(sqlite) },
    ];
    const elapsed = new Map<string, number>(variants.map((variant) => [variant.name, 0]));
    const perSlice = Math.ceil(casts / SLICES);
    await timeCasts(options.transportUrl, undefined, 500, concurrency); // warm-up
    for (let slice = 0; slice < SLICES; slice++) {
      for (const variant of variants) elapsed.set(variant.name, elapsed.get(variant.name)! + (await timeCasts(options.transportUrl, variant.store(), perSlice, concurrency)));
    }
    const rate = (name: string) => Math.round((perSlice * SLICES) / (elapsed.get(name)! / 1000));
    const claimMs = await claimLatency(maria, 500);
    const window = rate('window');
    return {
      title: 'Duplicate suppression: casts processed by one server, shared SQL claims against the per-server window',
      rows: [
        { name: 'casts, per-server window (default)', value: window, unit: 'casts/s' },
        { name: 'casts, shared claims on MariaDB', value: rate('mariadb'), unit: 'casts/s', baseline: window, ratio: round(rate('mariadb') / window) },
        { name: 'casts, shared claims on SQLite file', value: rate('sqlite'), unit: 'casts/s', baseline: window, ratio: round(rate('sqlite') / window) },
        { name: 'one claim on MariaDB (sequential)', value: claimMs, unit: 'ms' },
      ],
      notes: [`${perSlice * SLICES} casts per variant in ${SLICES} alternating slices, ${concurrency} in flight, one server (64 handlers)`],
    };
  } finally {
    await maria.destroy();
    await sqlite.destroy();
    rmSync(sqliteFile, { force: true });
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  }
}

/** Milliseconds from the first cast to the last one processed. */
async function timeCasts(transportUrl: string, duplicateStore: DuplicateStore | undefined, count: number, concurrency: number): Promise<number> {
  const topic = `bench_dedup_${randomBytes(4).toString('hex')}`;
  const transport = getTransport(transportUrl, { logger: createLogger({ level: 'warn' }), options: { control_exchange: 'bench_dedup' } });
  let processed = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const server = new RpcServer(transport, { topic, server: 'bench' }, [{ methods: { hit: () => void (++processed === count && allDone()) } }], { duplicateStore });
  await server.start();
  if (duplicateStore instanceof SqlDuplicateStore) await duplicateStore.prepare();
  const client = new RpcClient(transport, { topic });
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next += 1;
      await client.cast(context, 'hit', {});
    }
  }));
  await done;
  const took = performance.now() - started;
  await server.stop();
  await transport.close();
  return took;
}

async function claimLatency(knex: Knex, count: number): Promise<number> {
  const store = new SqlDuplicateStore(knex);
  await store.prepare();
  const started = performance.now();
  for (let i = 0; i < count; i++) await store.claim(randomBytes(16).toString('hex'));
  const took = (performance.now() - started) / count;
  await store.close();
  return round(took);
}

const round = (value: number) => Math.round(value * 100) / 100;
