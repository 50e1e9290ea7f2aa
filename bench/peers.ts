/**
 * Peers benchmark: novarpc against what a user would pick instead, on the same broker
 * in one run, with the same sizes and concurrency: novarpc with its defaults (quorum
 * queues), novarpc with oslo's stock options (`rabbit_quorum_queue=false`), moleculer's
 * AMQP transporter tuned (noDelay, prefetch 64), bare amqplib without confirms (the
 * floor) and Python oslo.messaging. Every figure alternates the sides slice by slice
 * (who goes first rotates), so drift in the machine's load hits all alike, and the
 * broker's CPU time is read around each side's slices.
 */
import type { BenchRow, BenchSection } from './types.js';
import { findBrokerCpu, type BrokerCpu } from './broker-cpu.js';
import { floorSide, moleculerSide, novarpcSide, osloSide, PEERS_CONCURRENCY, runSuffix, type PeerSide } from './peers-clients.js';

/** Sizes of one run (per side). */
export interface PeersBenchOptions {
  transportUrl: string;
  sequentialCalls?: number;
  concurrentCalls?: number;
  casts?: number;
  /** Slices of the concurrent figures. */
  rounds?: number;
  /** Calls per slice of the sequential figure. */
  sequentialSlice?: number;
}

interface Tally {
  side: PeerSide;
  latencies: number[];
  callsMs: number;
  calls: number;
  castsMs: number;
  casts: number;
  /** Broker CPU seconds while this side ran its concurrent calls, its casts. */
  brokerCallsCpu: number;
  brokerCastsCpu: number;
  /** The side's client and server CPU seconds during its concurrent calls. */
  clientCallsCpu: number;
  serverCallsCpu: number;
}

interface Figures {
  sequentialRate: number;
  p50: number;
  p99: number;
  callRate: number;
  castRate: number;
  brokerPer1kCalls: number | undefined;
  brokerPer1kCasts: number | undefined;
  clientPer1kCalls: number;
  serverPer1kCalls: number;
}

/** Runs the peers benchmark and returns its report section. */
export async function runPeersBench(options: PeersBenchOptions): Promise<BenchSection> {
  const sizes = { sequential: options.sequentialCalls ?? 2000, calls: options.concurrentCalls ?? 10_000, casts: options.casts ?? 10_000 };
  const rounds = options.rounds ?? 4;
  const url = options.transportUrl;
  const port = Number(/:(\d+)(\/|\?|$)/.exec(url.split('://')[1]!.split(',')[0]!)?.[1] ?? 5672);
  const cpu = findBrokerCpu(port);
  const suffix = runSuffix();
  const separator = url.includes('?') ? '&' : '?';
  const opened: PeerSide[] = [];
  try {
    opened.push(await novarpcSide('novarpc default (quorum)', url, `peers_${suffix}`, `peers_q_${suffix}`));
    opened.push(await novarpcSide('novarpc oslo stock (classic)', `${url}${separator}rabbit_quorum_queue=false`, `peers_stock_${suffix}`, `peers_c_${suffix}`));
    opened.push(await moleculerSide('moleculer AMQP tuned', url, `peers-${suffix}`));
    opened.push(await floorSide('floor: amqplib, no confirms', url, `peers_floor_${suffix}`));
    opened.push(await osloSide('oslo.messaging (Python)', url, `peers_oslo_${suffix}`, `peers_o_${suffix}`));
    const tallies: Tally[] = opened.map((side) => ({ side, latencies: [], callsMs: 0, calls: 0, castsMs: 0, casts: 0, brokerCallsCpu: 0, brokerCastsCpu: 0, clientCallsCpu: 0, serverCallsCpu: 0 }));
    for (const tally of tallies) await tally.side.calls(200); // warm-up
    const inSlices = async (slices: number, work: (tally: Tally) => Promise<void>) => {
      for (let slice = 0; slice < slices; slice++) {
        const shift = slice % tallies.length;
        for (const tally of [...tallies.slice(shift), ...tallies.slice(0, shift)]) await work(tally);
      }
    };
    const sequentialSlices = Math.max(rounds, Math.round(sizes.sequential / (options.sequentialSlice ?? 100)));
    await inSlices(sequentialSlices, async (tally) => {
      tally.latencies.push(...(await tally.side.sequential(Math.ceil(sizes.sequential / sequentialSlices))));
    });
    await inSlices(rounds, async (tally) => {
      const count = Math.ceil(sizes.calls / rounds);
      const before = tally.side.cpu();
      const measured = await measure(cpu, () => tally.side.calls(count));
      const after = tally.side.cpu();
      tally.clientCallsCpu += after.client - before.client;
      tally.serverCallsCpu += after.server - before.server;
      tally.callsMs += measured.ms;
      tally.brokerCallsCpu += measured.cpu;
      tally.calls += count;
    });
    await inSlices(rounds, async (tally) => {
      const count = Math.ceil(sizes.casts / rounds);
      const measured = await measure(cpu, () => tally.side.casts(count));
      tally.castsMs += measured.ms;
      tally.brokerCastsCpu += measured.cpu;
      tally.casts += count;
    });
    return report(tallies.map((tally) => [tally.side.label, figuresOf(tally, cpu !== undefined)] as const), sizes, rounds, sequentialSlices, cpu);
  } finally {
    for (const side of opened) await side.close().catch((error: unknown) => console.error(`closing ${side.label}: ${String(error)}`));
  }
}

async function measure(cpu: BrokerCpu | undefined, work: () => Promise<void>): Promise<{ ms: number; cpu: number }> {
  const cpuBefore = cpu?.seconds() ?? 0;
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  return { ms, cpu: (cpu?.seconds() ?? 0) - cpuBefore };
}

function figuresOf(tally: Tally, withCpu: boolean): Figures {
  const latencies = [...tally.latencies].sort((a, b) => a - b);
  const totalSeconds = latencies.reduce((sum, value) => sum + value, 0) / 1000;
  return {
    sequentialRate: Math.round(latencies.length / totalSeconds),
    p50: round2(latencies[Math.floor(latencies.length * 0.5)]!),
    p99: round2(latencies[Math.floor(latencies.length * 0.99)]!),
    callRate: Math.round(tally.calls / (tally.callsMs / 1000)),
    castRate: Math.round(tally.casts / (tally.castsMs / 1000)),
    brokerPer1kCalls: withCpu ? round2((tally.brokerCallsCpu / tally.calls) * 1000) : undefined,
    brokerPer1kCasts: withCpu ? round2((tally.brokerCastsCpu / tally.casts) * 1000) : undefined,
    clientPer1kCalls: round2((tally.clientCallsCpu / tally.calls) * 1000),
    serverPer1kCalls: round2((tally.serverCallsCpu / tally.calls) * 1000),
  };
}

function report(
  results: ReadonlyArray<readonly [string, Figures]>,
  sizes: { sequential: number; calls: number; casts: number },
  rounds: number,
  sequentialSlices: number,
  cpu: BrokerCpu | undefined,
): BenchSection {
  const [quorum, stock, moleculer, floor, oslo] = results.map(([, figures]) => figures) as [Figures, Figures, Figures, Figures, Figures];
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  const row = (name: string, value: number, baseline: number, unit: string, target?: string, latency = false): BenchRow => ({
    name,
    value,
    unit,
    baseline,
    ratio: latency ? ratio(baseline, value) : ratio(value, baseline),
    ...(target ? { target } : {}),
  });
  const rows: BenchRow[] = [
    row('stock: concurrent calls vs moleculer tuned', stock.callRate, moleculer.callRate, 'calls/s', '>= 0.8'),
    row('stock: confirmed casts vs moleculer (unconfirmed)', stock.castRate, moleculer.castRate, 'casts/s', '>= 0.8'),
    row('stock: concurrent calls vs oslo.messaging', stock.callRate, oslo.callRate, 'calls/s', '>= 10'),
    row('stock: casts vs oslo.messaging', stock.castRate, oslo.castRate, 'casts/s'),
    row('stock: sequential p50 vs floor (floor/novarpc)', stock.p50, floor.p50, 'ms', '>= 0.67 (p50 <= 1.5x floor)', true),
    row('stock: concurrent calls vs floor', stock.callRate, floor.callRate, 'calls/s'),
    row('default (quorum): concurrent calls vs moleculer', quorum.callRate, moleculer.callRate, 'calls/s'),
    row('default (quorum): concurrent calls vs oslo.messaging', quorum.callRate, oslo.callRate, 'calls/s'),
    row('quorum vs classic: sequential calls (log fsync)', quorum.sequentialRate, stock.sequentialRate, 'calls/s'),
    row('quorum vs classic: sequential p50', quorum.p50, stock.p50, 'ms', undefined, true),
  ];
  if (cpu) rows.push(row('stock: broker CPU per 1,000 calls vs moleculer (moleculer/novarpc)', stock.brokerPer1kCalls!, moleculer.brokerPer1kCalls!, 's', undefined, true));
  const cell = (value: number | undefined) => (value === undefined ? 'n/a' : String(value));
  return {
    title: `Peers on one broker: novarpc vs moleculer, bare amqplib and oslo.messaging (${PEERS_CONCURRENCY} in flight for the concurrent figures)`,
    rows,
    table: {
      columns: ['side', 'seq calls/s', 'p50 ms', 'p99 ms', `calls/s (${PEERS_CONCURRENCY})`, 'casts/s', 'CPU s/1k calls: broker', 'server', 'client', 'broker CPU s/1k casts'],
      rows: results.map(([label, f]) => [
        label,
        String(f.sequentialRate),
        String(f.p50),
        String(f.p99),
        String(f.callRate),
        String(f.castRate),
        cell(f.brokerPer1kCalls),
        String(f.serverPer1kCalls),
        String(f.clientPer1kCalls),
        cell(f.brokerPer1kCasts),
      ]),
    },
    notes: [
      `per side: ${sizes.sequential} sequential calls (${sequentialSlices} slices), ${sizes.calls} concurrent calls and ${sizes.casts} casts (${rounds} slices each); the sides alternate slice by slice, the first one rotating`,
      'one server per side in its own process (Python for oslo.messaging, executor threading); clients here (a Python process for oslo.messaging, 64 threads)',
      'casts/s counts until the server handled the last cast; novarpc casts are confirmed, moleculer, floor and oslo.messaging ones are not',
      'floor: bare amqplib, transient messages on exclusive classic queues, no confirms, replies without acks, minimal body; moleculer: AMQP transporter, prefetch 64, noDelay, JSON serializer',
      cpu
        ? `CPU: utime+stime of the broker's process (pid ${cpu.pid}), of each side's server process and of its client (this process for the Node sides, tick resolution 10 ms) across the side's slices; the broker is shared, so other traffic on it adds noise, and on a machine short of cores the calls/s follow the sum of the three`
        : 'broker CPU: not available (the broker is not a process on this machine)',
    ],
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
