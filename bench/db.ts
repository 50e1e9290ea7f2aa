/**
 * DB benchmark: instance create and create+update (a task_state compare-and-swap, as
 * Nova's compute manager does it) through novarpc's db layer, against the same
 * statements sent with raw mysql2 (a pool of the same size, prepared statements),
 * measured in the same run on the same server. Both run in a scratch database created
 * for the run and dropped afterwards, so the shared database is left alone.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import { redactUrlPasswords } from '../src/log/logger.js';
import { createDb, type Db } from '../src/db/index.js';
import type { BenchRow, BenchSection } from './types.js';

/** Sizes of one run. */
export interface DbBenchOptions {
  /** A MariaDB/MySQL URL; its user must be allowed to create and drop a database. */
  databaseUrl: string;
  /** Operations per measured phase. Default 2000. */
  operations?: number;
  /** Operations in flight at once. Default 20. */
  concurrency?: number;
  /** Upper bound of the whole run; phases stop early past their share. Default 25 s. */
  timeBudgetMs?: number;
}

/** Connection pool size of both sides: createDb's default `maxPoolSize`. */
const POOL_SIZE = 10;
/** Pairs per side before measuring: enough for V8 to optimise knex and the db layer. */
const WARMUP_OPERATIONS = 1000;
const PROJECT = 'bench-project';

/** Creates and updates instances, the novarpc way or the raw way. */
interface InstanceWriter {
  create(): Promise<string>;
  /** Moves task_state scheduling → spawning, only if it is still scheduling. */
  update(uuid: string): Promise<void>;
  close(): Promise<void>;
}

interface PhaseResult {
  completed: number;
  elapsedMs: number;
  latenciesMs: number[];
}

interface SideFigures {
  createRate: number;
  createP50: number;
  createP99: number;
  pairRate: number;
  pairP50: number;
  pairP99: number;
  completed: string;
}

/** Runs the DB benchmark and returns its report section. */
export async function runDbBench(options: DbBenchOptions): Promise<BenchSection> {
  const operations = options.operations ?? 2000;
  const concurrency = options.concurrency ?? 20;
  const deadline = performance.now() + (options.timeBudgetMs ?? 25_000);
  const scratch = await createScratchDatabase(options.databaseUrl);
  const writers: Record<Side, InstanceWriter> = {
    novarpc: novarpcWriter(await createDb({ url: scratch.url, migrate: true })),
    raw: rawWriter(scratch.url),
  };
  try {
    const measured = await measure(writers, operations, concurrency, deadline);
    const novarpc = figures(measured.novarpc);
    const raw = figures(measured.raw);
    return {
      title: 'DB: instance create and update on MariaDB (novarpc db layer vs raw mysql2)',
      rows: reportRows(novarpc, raw),
      notes: [
        `server: ${redactUrlPasswords(options.databaseUrl).replace(/\/[^/?]*(\?.*)?$/, '')}, scratch database ${scratch.name}`,
        `${operations} operations per phase and side, concurrency ${concurrency}, pool of ${POOL_SIZE} connections on both sides`,
        `sides alternate in ${ROUNDS} rounds per phase, so server-side drift hits both alike`,
        `completed operations (creates/pairs): novarpc ${novarpc.completed}, raw ${raw.completed}`,
        'create = one INSERT on both sides (novarpc builds it with knex, raw uses a prepared statement)',
        'update = task_state compare-and-swap; novarpc also re-reads the row it returns (UPDATE + SELECT), raw does the UPDATE only',
        'SQL echo off; slow-statement logging and request context on, as in production',
      ],
    };
  } finally {
    await Promise.allSettled([writers.novarpc.close(), writers.raw.close()]);
    await scratch.drop();
  }
}

type Side = 'novarpc' | 'raw';
const ROUNDS = 4;

interface SideMeasurements {
  creates: PhaseResult;
  pairs: PhaseResult;
}

/** Warms both sides up, then measures creates and create+update pairs, alternating sides round by round. */
async function measure(
  writers: Record<Side, InstanceWriter>,
  operations: number,
  concurrency: number,
  deadline: number,
): Promise<Record<Side, SideMeasurements>> {
  const sides: Side[] = ['raw', 'novarpc'];
  const pair = (writer: InstanceWriter) => async () => writer.update(await writer.create());
  const create = (writer: InstanceWriter) => async () => {
    await writer.create();
  };
  for (const side of sides) await runPhase(WARMUP_OPERATIONS, concurrency, deadline, pair(writers[side]));
  const result = {
    novarpc: { creates: emptyPhase(), pairs: emptyPhase() },
    raw: { creates: emptyPhase(), pairs: emptyPhase() },
  };
  const perRound = Math.ceil(operations / ROUNDS);
  for (const phase of ['creates', 'pairs'] as const) {
    const phaseDeadline = phase === 'creates' ? performance.now() + (deadline - performance.now()) / 2 : deadline;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const op = phase === 'creates' ? create(writers[side]) : pair(writers[side]);
        addPhase(result[side][phase], await runPhase(perRound, concurrency, phaseDeadline, op));
      }
    }
  }
  return result;
}

function figures(measured: SideMeasurements): SideFigures {
  const { creates, pairs } = measured;
  return {
    createRate: rate(creates),
    createP50: percentile(creates.latenciesMs, 0.5),
    createP99: percentile(creates.latenciesMs, 0.99),
    pairRate: rate(pairs),
    pairP50: percentile(pairs.latenciesMs, 0.5),
    pairP99: percentile(pairs.latenciesMs, 0.99),
    completed: `${creates.completed}/${pairs.completed}`,
  };
}

function emptyPhase(): PhaseResult {
  return { completed: 0, elapsedMs: 0, latenciesMs: [] };
}

function addPhase(total: PhaseResult, part: PhaseResult): void {
  total.completed += part.completed;
  total.elapsedMs += part.elapsedMs;
  total.latenciesMs.push(...part.latenciesMs);
}

/** Runs `operation` `total` times with `concurrency` in flight, stopping early at `deadline`. */
async function runPhase(
  total: number,
  concurrency: number,
  deadline: number,
  operation: () => Promise<void>,
): Promise<PhaseResult> {
  const latenciesMs: number[] = [];
  const started = performance.now();
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < total && performance.now() < deadline) {
      issued += 1;
      const begin = performance.now();
      await operation();
      latenciesMs.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { completed: latenciesMs.length, elapsedMs: performance.now() - started, latenciesMs };
}

function novarpcWriter(db: Db): InstanceWriter {
  let counter = 0;
  const context = () => ({ requestId: `req-bench-${++counter}`, projectId: PROJECT, userId: 'bench', isAdmin: false });
  return {
    create: async () => (await db.instances.create(context(), { display_name: 'bench', instance_type_id: 1 })).uuid,
    update: async (uuid) => {
      await db.instances.update(context(), uuid, { task_state: 'spawning' }, { expectedTaskState: 'scheduling' });
    },
    close: () => db.close(),
  };
}

/** The columns novarpc's create sends (NULL columns are left to their default on both sides). */
const INSERT_INSTANCE =
  'INSERT INTO instances (display_name, instance_type_id, vm_state, task_state, power_state, progress, uuid, ' +
  'project_id, user_id, created_at, deleted) VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?, ?, 0)';
const UPDATE_TASK_STATE =
  'UPDATE instances SET task_state = ?, updated_at = ? WHERE deleted = 0 AND project_id = ? AND uuid = ? AND task_state = ?';

function rawWriter(url: string): InstanceWriter {
  const pool = mysql.createPool({ uri: url, connectionLimit: POOL_SIZE, timezone: 'Z' });
  return {
    create: async () => {
      const uuid = randomUUID();
      await pool.execute(INSERT_INSTANCE, ['bench', 1, 'building', 'scheduling', uuid, PROJECT, 'bench', new Date()]);
      return uuid;
    },
    update: async (uuid) => {
      const [result] = await pool.execute<mysql.ResultSetHeader>(UPDATE_TASK_STATE, [
        'spawning',
        new Date(),
        PROJECT,
        uuid,
        'scheduling',
      ]);
      if (result.affectedRows !== 1) throw new Error(`raw update of ${uuid} changed ${result.affectedRows} rows`);
    },
    close: () => pool.end(),
  };
}

function reportRows(novarpc: SideFigures, raw: SideFigures): BenchRow[] {
  const higherIsBetter = (value: number, baseline: number) => round(value / baseline);
  const lowerIsBetter = (value: number, baseline: number) => round(baseline / value);
  return [
    { name: 'instance creates', value: novarpc.createRate, unit: 'creates/s', baseline: raw.createRate, ratio: higherIsBetter(novarpc.createRate, raw.createRate) },
    { name: 'create p50', value: novarpc.createP50, unit: 'ms', baseline: raw.createP50, ratio: lowerIsBetter(novarpc.createP50, raw.createP50) },
    { name: 'create p99', value: novarpc.createP99, unit: 'ms', baseline: raw.createP99, ratio: lowerIsBetter(novarpc.createP99, raw.createP99) },
    { name: 'create+update pairs', value: novarpc.pairRate, unit: 'pairs/s', baseline: raw.pairRate, ratio: higherIsBetter(novarpc.pairRate, raw.pairRate) },
    { name: 'create+update p50', value: novarpc.pairP50, unit: 'ms', baseline: raw.pairP50, ratio: lowerIsBetter(novarpc.pairP50, raw.pairP50) },
    { name: 'create+update p99', value: novarpc.pairP99, unit: 'ms', baseline: raw.pairP99, ratio: lowerIsBetter(novarpc.pairP99, raw.pairP99) },
  ];
}

interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A database of the run's own on the server of `databaseUrl`. */
async function createScratchDatabase(databaseUrl: string): Promise<ScratchDatabase> {
  const name = `novarpc_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const connection = await mysql.createConnection({ uri: databaseUrl });
    try {
      await connection.query(sql);
    } finally {
      await connection.end();
    }
  };
  try {
    await admin(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } catch (error) {
    throw new Error(
      `DB benchmark needs to create a scratch database on ${redactUrlPasswords(databaseUrl)}: ${(error as Error).message}`,
    );
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS \`${name}\``) };
}

function rate(phase: PhaseResult): number {
  return Math.round((phase.completed / phase.elapsedMs) * 1000);
}

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
