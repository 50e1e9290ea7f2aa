/**
 * `npm run bench`: runs the benchmark sections against the local RabbitMQ and
 * MariaDB (or NOVARPC_BENCH_TRANSPORT_URL / NOVARPC_BENCH_DATABASE_URL), prints a
 * table per section and, with `--json FILE`, writes the figures as JSON.
 * `--only rpc,rpc-telemetry,peers,peers-costs,db,dedup,e2e,scale` picks sections (rpc-telemetry:
 * the overhead of metrics and of tracing, novarpc against novarpc; peers: novarpc against
 * moleculer, bare amqplib and Python oslo.messaging; peers-costs: what each broker
 * guarantee costs, bare amqplib with one feature added at a time; scale: a 1,000-host
 * cell against a 2-host one, which needs rabbitmqctl on this machine); `--quick` runs
 * small sizes (a smoke run).
 * `npm run bench` compiles sources and benchmarks with tsc first and runs plain node,
 * so what is measured is the library as it is deployed, not a development transpile.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { BenchSection } from './types.js';

const argv = process.argv.slice(2);
const jsonIndex = argv.indexOf('--json');
const jsonFile = jsonIndex === -1 ? undefined : argv[jsonIndex + 1];
const onlyIndex = argv.indexOf('--only');
const only = onlyIndex === -1 ? ['rpc', 'rpc-telemetry', 'peers', 'peers-costs', 'db', 'dedup', 'e2e', 'scale'] : argv[onlyIndex + 1]!.split(',');
const quick = argv.includes('--quick');
const transportUrl = process.env.NOVARPC_BENCH_TRANSPORT_URL ?? 'rabbit://guest:guest@127.0.0.1:5672/';
const databaseUrl = process.env.NOVARPC_BENCH_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** A section runner; sections whose module is not there yet are reported as missing. */
const SECTIONS: Record<string, () => Promise<BenchSection | BenchSection[]>> = {
  rpc: async () => {
    const { runRpcBench } = await import('./rpc.js');
    return runRpcBench(
      quick
        ? { transportUrl, sequentialCalls: 300, concurrentCalls: 2000, casts: 2000, fanouts: 300, rssCalls: 10_000, rounds: 2 }
        : { transportUrl },
    );
  },
  'rpc-telemetry': async () => {
    const { runRpcBench } = await import('./rpc.js');
    const sizes = quick
      ? { sequentialCalls: 300, concurrentCalls: 2000, casts: 2000, fanouts: 300, rounds: 2 }
      : { sequentialCalls: 3000, concurrentCalls: 10_000, casts: 10_000, fanouts: 1500, rounds: 6 };
    return [
      await runRpcBench({ transportUrl, rssCalls: 0, ...sizes, telemetry: 'metrics' }),
      await runRpcBench({ transportUrl, rssCalls: 0, ...sizes, telemetry: 'tracing' }),
    ];
  },
  db: async () => {
    const { runDbBench } = await import('./db.js');
    return runDbBench({ databaseUrl });
  },
  peers: async () => {
    const { runPeersBench } = await import('./peers.js');
    return runPeersBench(
      quick ? { transportUrl, sequentialCalls: 200, concurrentCalls: 1000, casts: 1000, rounds: 2 } : { transportUrl },
    );
  },
  'peers-costs': async () => {
    const { runPeersCostsBench } = await import('./peers-costs.js');
    return runPeersCostsBench(quick ? { transportUrl, calls: 1000, sequentialCalls: 200, rounds: 2 } : { transportUrl });
  },
  dedup: async () => {
    const { runDedupBench } = await import('./dedup.js');
    return runDedupBench({ transportUrl, databaseUrl, ...(quick ? { casts: 1500 } : {}) });
  },
  e2e: async () => {
    const { runE2eBench } = await import('./e2e.js');
    return runE2eBench({ transportUrl, databaseUrl, ...(quick ? { servers: 400, concurrency: 50, rounds: 2 } : {}) });
  },
  scale: async () => {
    const { runScaleBench } = await import('./scale.js');
    // NOVARPC_BENCH_SCALE_HOSTS / _SERVERS override the sizes (e.g. fewer servers on a loaded machine).
    const sizes = quick ? { hosts: 100, computeProcesses: 2, servers: 200, concurrency: 50 } : {};
    const fromEnv = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
    return runScaleBench({ transportUrl, databaseUrl, ...sizes, ...definedOnly({ hosts: fromEnv('NOVARPC_BENCH_SCALE_HOSTS'), servers: fromEnv('NOVARPC_BENCH_SCALE_SERVERS') }) });
  },
};

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function printSection(section: BenchSection): void {
  console.log(`\n## ${section.title}\n`);
  const header = ['figure', 'novarpc', 'baseline', 'ratio', 'target'];
  const rows = section.rows.map((row) => [
    row.name,
    `${row.value} ${row.unit}`,
    row.baseline === undefined ? '' : `${row.baseline} ${row.unit}`,
    row.ratio === undefined ? '' : `${row.ratio}x`,
    row.target ?? '',
  ]);
  if (rows.length > 0) printTable(header, rows);
  if (section.table) {
    if (rows.length > 0) console.log('');
    printTable(section.table.columns, section.table.rows);
  }
  for (const note of section.notes ?? []) console.log(`- ${note}`);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((_, column) => Math.max(header[column]!.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

const results: BenchSection[] = [];
let failed = false;
for (const name of only) {
  const runner = SECTIONS[name];
  if (!runner) throw new Error(`unknown benchmark section "${name}" (known: ${Object.keys(SECTIONS).join(', ')})`);
  const moduleFile = new URL(`./${name === 'peers-costs' ? name : name.split('-')[0]}.${import.meta.url.endsWith('.js') ? 'js' : 'ts'}`, import.meta.url);
  if (!existsSync(moduleFile)) {
    console.log(`\n## ${name}: not available in this checkout`);
    continue;
  }
  try {
    for (const section of [await runner()].flat()) {
      results.push(section);
      printSection(section);
    }
  } catch (error) {
    failed = true;
    console.error(`\n## ${name}: failed: ${(error as Error).stack ?? error}`);
  }
}
if (jsonFile) await writeFile(jsonFile, `${JSON.stringify({ date: new Date().toISOString(), sections: results }, null, 2)}\n`);
process.exit(failed ? 1 : 0);
