/**
 * Load for the cluster scenarios: RPC servers that record which numbered casts they
 * processed (and how often), a client casting numbered messages from a few concurrent
 * loops, and a call loop noting when each call succeeded or failed.
 */
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { getTransport, RequestContext, RpcClient, RpcError, RpcServer, SqlDuplicateStore, type Transport } from '../../src/rpc/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const context = new RequestContext({ userId: 'chaos', projectId: 'chaos' });

/** Fast reconnects and a bounded send wait, as the chaos tests use them. */
export const FAST_RECONNECT = 'kombu_reconnect_delay=0.2&rabbit_retry_interval=0.2&rabbit_retry_backoff=0.3&rabbit_interval_max=1';

/** Log lines of one transport, kept in memory. */
export class LogCapture {
  readonly lines: Array<{ msg: string; level?: number; time?: number; err?: { message?: string }; [key: string]: unknown }> = [];
  readonly logger: Logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        for (const line of chunk.toString().split('\n')) if (line) this.lines.push(JSON.parse(line));
        done();
      },
    }),
  });

  /** Lines whose message contains `text`. */
  matching(text: string): Array<{ msg: string; [key: string]: unknown }> {
    return this.lines.filter((line) => line.msg.includes(text));
  }
}

/** One server of the scenario and what it processed. */
export interface RecordingServer {
  name: string;
  server: RpcServer;
  logs: LogCapture;
  /** Casts processed after `since` (epoch ms). */
  processedSince(since: number): number;
}

/** Everything the numbered casts and the call loop produced. */
export class ClusterLoad {
  readonly transports: Transport[] = [];
  /** Every transport's log, by who it belongs to. */
  readonly logs = new Map<string, LogCapture>();
  /** How often each cast number was processed, across all servers. */
  readonly invocations = new Map<number, number>();
  readonly confirmed = new Set<number>();
  /** Casts that failed, and how long after their send started. */
  readonly castFailures: Array<{ n: number; error: unknown; elapsedMs: number }> = [];
  /** Each call: when it started and ended, and how. */
  readonly calls: Array<{ startedAt: number; at: number; ok: boolean; error?: unknown }> = [];
  /** When each cast's send started, and when it was first processed. */
  private readonly castSentAt = new Map<number, number>();
  private readonly castProcessedAt = new Map<number, number>();
  private readonly stores: SqlDuplicateStore[] = [];
  private calling = false;
  private callLoop: Promise<void> | undefined;
  private casting: Promise<unknown> | undefined;

  /** With `claims`, the servers share duplicate claims through that database (SqlDuplicateStore). */
  constructor(
    readonly topic: string,
    readonly exchange: string,
    private readonly claims?: Knex,
  ) {}

  /** Starts a server `name` whose transport lists the brokers in `url`'s order. */
  async startServer(name: string, url: string): Promise<RecordingServer> {
    const logs = new LogCapture();
    this.logs.set(name, logs);
    const transport = getTransport(url, { logger: logs.logger, options: { control_exchange: this.exchange } });
    this.transports.push(transport);
    const processedAt: number[] = [];
    const duplicateStore = this.claims ? new SqlDuplicateStore(this.claims) : undefined;
    if (duplicateStore) this.stores.push(duplicateStore);
    const server = new RpcServer(
      transport,
      { topic: this.topic, server: name },
      [
      {
        methods: {
          record: (_ctx, args) => {
            const n = args.n as number;
            this.invocations.set(n, (this.invocations.get(n) ?? 0) + 1);
            if (!this.castProcessedAt.has(n)) this.castProcessedAt.set(n, Date.now());
            processedAt.push(Date.now());
          },
          ping: () => 'pong',
        },
      },
      ],
      { duplicateStore },
    );
    await server.start();
    return { name, server, logs, processedSince: (since) => processedAt.filter((at) => at > since).length };
  }

  /** A client on `url`, with a short call timeout. */
  client(url: string, callTimeout = 3): { client: RpcClient; logs: LogCapture; transport: Transport } {
    const logs = new LogCapture();
    this.logs.set('client', logs);
    const transport = getTransport(url, { logger: logs.logger, options: { control_exchange: this.exchange } });
    this.transports.push(transport);
    return { client: new RpcClient(transport, { topic: this.topic }, { timeout: callTimeout }), logs, transport };
  }

  /** Casts `total` numbered messages from `loops` concurrent loops, each pausing `pauseMs` between casts. */
  startCasting(client: RpcClient, total: number, loops = 8, pauseMs = 2): void {
    let next = 0;
    this.casting = Promise.all(
      Array.from({ length: loops }, async () => {
        while (next < total) {
          const n = next++;
          const sentAt = Date.now();
          this.castSentAt.set(n, sentAt);
          try {
            await client.cast(context, 'record', { n });
            this.confirmed.add(n);
          } catch (error) {
            this.castFailures.push({ n, error, elapsedMs: Date.now() - sentAt });
          }
          await sleep(pauseMs);
        }
      }),
    );
  }

  /** Calls `ping` in a loop until {@link stop}. */
  startCalling(client: RpcClient): void {
    this.calling = true;
    this.callLoop = (async () => {
      while (this.calling) {
        const startedAt = Date.now();
        try {
          await client.call(context, 'ping');
          this.calls.push({ startedAt, at: Date.now(), ok: true });
        } catch (error) {
          this.calls.push({ startedAt, at: Date.now(), ok: false, error });
          await sleep(50);
        }
      }
    })();
  }

  /** Resolves when every cast was sent (confirmed or failed). */
  async castsDone(): Promise<void> {
    await this.casting;
  }

  /** Stops the call loop. */
  async stopCalling(): Promise<void> {
    this.calling = false;
    await this.callLoop;
  }

  /** When the first call started after `since` succeeded, if one did. */
  firstCallOkAfter(since: number): number | undefined {
    return this.calls.find((call) => call.ok && call.startedAt > since)?.at;
  }

  /** When the first cast sent after `since` was processed, if one was. */
  firstCastProcessedAfter(since: number): number | undefined {
    let first: number | undefined;
    for (const [n, sentAt] of this.castSentAt) {
      const processedAt = this.castProcessedAt.get(n);
      if (sentAt > since && processedAt !== undefined && (first === undefined || processedAt < first)) first = processedAt;
    }
    return first;
  }

  /**
   * Seconds from `since` (a fault) until service was back: the earliest of the first call
   * started after it succeeding and the first cast sent after it being processed.
   */
  recoverySince(since: number): number | undefined {
    const times = [this.firstCallOkAfter(since), this.firstCastProcessedAfter(since)].filter((at) => at !== undefined);
    return times.length === 0 ? undefined : (Math.min(...times) - since) / 1000;
  }

  /** Messages the client's publisher sent again (channel lost before the confirm, or nacked). */
  get resent(): number {
    const client = this.logs.get('client');
    // One "sending again" debug line per extra attempt, whatever the reason.
    return client ? client.matching('sending again').length : 0;
  }

  /** Confirmed casts never processed. */
  get lost(): number {
    return [...this.confirmed].filter((n) => !this.invocations.has(n)).length;
  }

  /** Cast numbers processed more than once (across servers). */
  get duplicated(): number {
    return [...this.invocations.values()].filter((count) => count > 1).length;
  }

  /** True when every confirmed cast was processed. */
  get allConfirmedProcessed(): boolean {
    return [...this.confirmed].every((n) => this.invocations.has(n));
  }

  /** Codes of the errors the failed calls and casts ended with. */
  errorCodes(): string[] {
    const errors = [...this.calls.filter((call) => !call.ok).map((call) => call.error), ...this.castFailures.map((failure) => failure.error)];
    return [...new Set(errors.map((error) => (error instanceof RpcError ? error.code : `not an RpcError: ${String(error)}`)))];
  }

  /** The transports' log lines (info and up) and the call errors, for a failed test's output. */
  diagnostics(): string {
    const lines: string[] = [];
    for (const [owner, capture] of this.logs) {
      for (const line of capture.lines) {
        if ((line.level as number) >= 30) lines.push(`${owner}: ${line.time} ${line.msg} ${JSON.stringify(line.err?.message ?? line.reason ?? line.queue ?? '')}`);
      }
    }
    const callErrors = new Set(this.calls.filter((call) => !call.ok).map((call) => String((call.error as Error)?.message).slice(0, 200)));
    return [...lines.slice(-80), 'call errors:', ...[...callErrors].slice(0, 10)].join('\n');
  }

  async close(): Promise<void> {
    this.calling = false;
    await Promise.all(this.transports.map((transport) => transport.close().catch(() => {})));
    await Promise.all(this.stores.map((store) => store.close().catch(() => {})));
  }
}
