/**
 * Helpers for the interop suite: spawn the Python oslo.messaging peers in this
 * directory (README.md), read their JSON lines, drive py_rpc_client.py, and give each
 * test file an exchange and topics of its own on the shared broker, removed at the end.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as amqp from 'amqplib';
import { createLogger } from '../../src/log/logger.js';
import { getTransport, type Transport, type TransportConfig } from '../../src/rpc/index.js';
import { toAmqpUrl } from '../support/harness.js';
import { brokerUrl } from '../support/services.js';

/** Debian's interpreter: only it sees python3-oslo.messaging and python3-novaclient. */
export const PYTHON = '/usr/bin/python3';
/** This directory, where the py_*.py peers live. */
export const INTEROP_DIR = dirname(fileURLToPath(import.meta.url));
/** The notification priorities, as queue-name suffixes. */
export const PRIORITY_NAMES = ['audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample'] as const;

/** One JSON object a peer printed on stdout. */
export type PeerLine = Record<string, unknown>;

let pythonCheck: Promise<void> | undefined;

/**
 * Resolves when /usr/bin/python3 can import oslo.messaging and novaclient; otherwise
 * rejects with an error that names the Debian packages to install. Never a skip.
 */
export function requirePythonPeers(): Promise<void> {
  pythonCheck ??= new Promise<void>((resolve, reject) => {
    execFile(PYTHON, ['-c', 'import oslo_messaging, novaclient'], { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      reject(
        new Error(
          `the interop suite needs ${PYTHON} with oslo.messaging and novaclient: install the Debian packages ` +
            `python3-oslo.messaging and python3-novaclient (apt-get install python3-oslo.messaging python3-novaclient). ` +
            `${PYTHON} said: ${(stderr || String(error)).trim().split('\n').slice(-3).join(' | ')}`,
        ),
      );
    });
  });
  return pythonCheck;
}

/** Options for {@link PythonPeer.start}. */
export interface StartOptions {
  /** Milliseconds to wait for the `ready` line; default 30 s. */
  readyTimeoutMs?: number;
  /** Wait for `{"event":"ready"}` (default true; py_notifier.py prints none). */
  waitReady?: boolean;
}

/** A running Python peer and everything it printed. */
export class PythonPeer {
  /** Every JSON line printed on stdout, in order. */
  readonly lines: PeerLine[] = [];
  private stderrText = '';
  private stdoutRest = '';
  private readonly watchers = new Set<() => void>();
  private exitCode: number | null | undefined;
  private exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<number | null>;

  private constructor(
    readonly script: string,
    readonly args: readonly string[],
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr.on('data', (chunk: string) => {
      this.stderrText = (this.stderrText + chunk).slice(-20_000);
    });
    child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.notify();
        resolve(code);
      });
      child.once('error', (error) => {
        this.stderrText += `\nspawn error: ${error.message}`;
        this.exitCode = null;
        this.notify();
        resolve(null);
      });
    });
  }

  /** Spawns `/usr/bin/python3 <script> <args>` from this directory and waits for `ready`. */
  static async start(group: PeerGroup, script: string, args: readonly string[], options: StartOptions = {}): Promise<PythonPeer> {
    const child = spawn(PYTHON, [join(INTEROP_DIR, script), ...args], { cwd: INTEROP_DIR, stdio: ['pipe', 'pipe', 'pipe'] });
    const peer = new PythonPeer(script, args, child);
    group.add(peer);
    if (options.waitReady ?? true) {
      await peer.waitForLine((line) => line.event === 'ready', options.readyTimeoutMs ?? 30_000, 'ready');
    }
    return peer;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last 20 kB of stderr, for failure messages. */
  get stderr(): string {
    return this.stderrText;
  }

  /** Lines whose `event` is `event`. */
  events(event: string): PeerLine[] {
    return this.lines.filter((line) => line.event === event);
  }

  /** The `handled` lines for `method`. */
  handled(method?: string): PeerLine[] {
    return this.events('handled').filter((line) => method === undefined || line.method === method);
  }

  /**
   * Resolves with the first line (already printed or to come) matching `predicate`;
   * rejects after `timeoutMs`, or at once if the peer exits, with its stderr.
   */
  waitForLine(predicate: (line: PeerLine) => boolean, timeoutMs = 10_000, what = 'a line'): Promise<PeerLine> {
    return this.waitUntil(() => this.lines.find(predicate), timeoutMs, what);
  }

  /** Resolves when `count` lines match `predicate`, with them. */
  async waitForLines(predicate: (line: PeerLine) => boolean, count: number, timeoutMs = 10_000, what = 'lines'): Promise<PeerLine[]> {
    return this.waitUntil(
      () => {
        const matching = this.lines.filter(predicate);
        return matching.length >= count ? matching : undefined;
      },
      timeoutMs,
      `${count} × ${what}`,
    );
  }

  /** Writes one JSON line on the peer's stdin. */
  send(command: Record<string, unknown>): void {
    this.sendLine(JSON.stringify(command));
  }

  /** Writes one line as-is (Python's json.loads also reads NaN and Infinity). */
  sendLine(line: string): void {
    if (!this.running) throw new Error(`${this.script} has exited (${this.describeExit()}); cannot send ${line}`);
    this.child.stdin.write(`${line}\n`);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves with the exit code. */
  async stop(graceMs = 8000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL at once (process exit path). */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  describeExit(): string {
    if (this.exitCode === undefined) return 'running';
    return this.exitSignal ? `killed by ${this.exitSignal}` : `exit code ${String(this.exitCode)}`;
  }

  private waitUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = probe();
        if (found !== undefined) return finish(() => resolve(found));
        if (!this.running) {
          return finish(() => reject(new Error(`${this.script} exited (${this.describeExit()}) before ${what}; stderr:\n${this.stderrText.slice(-4000)}`)));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from ${this.script}; stderr:\n${this.stderrText.slice(-4000)}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        settle();
      };
      this.watchers.add(check);
      check();
    });
  }

  private onStdout(chunk: string): void {
    const text = this.stdoutRest + chunk;
    const parts = text.split('\n');
    this.stdoutRest = parts.pop() ?? '';
    for (const part of parts) {
      if (!part.trim()) continue;
      try {
        const value: unknown = JSON.parse(part);
        this.lines.push(typeof value === 'object' && value !== null ? (value as PeerLine) : { raw: value });
      } catch {
        this.lines.push({ event: 'unparsed', raw: part });
      }
    }
    this.notify();
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

/** The reply py_rpc_client.py prints for one command. */
export interface ClientReply {
  id: number;
  op: string;
  ok: boolean;
  result?: unknown;
  exc_class?: string;
  exc_module?: string;
  message?: string;
  exc_type?: string | null;
  value?: string | null;
  args?: unknown[];
  kwargs?: Record<string, unknown> | null;
  mro?: string[];
  traceback?: string[];
  elapsed: number;
}

/** A command for py_rpc_client.py (README: every key but op and method is optional). */
export interface ClientCommand {
  op: 'call' | 'cast' | 'ping';
  method?: string;
  args?: Record<string, unknown>;
  server?: string;
  fanout?: boolean;
  version?: string;
  namespace?: string;
  topic?: string;
  exchange?: string;
  timeout?: number;
  call_monitor_timeout?: number;
  retry?: number;
  version_cap?: string;
  context?: Record<string, unknown>;
  allowed_exmods?: string[];
}

/** A long-running py_rpc_client.py: one command at a time per id, answered by id. */
export class PythonRpcClient {
  private nextId = 1;

  private constructor(readonly peer: PythonPeer) {}

  static async start(group: PeerGroup, args: readonly string[]): Promise<PythonRpcClient> {
    return new PythonRpcClient(await PythonPeer.start(group, 'py_rpc_client.py', args));
  }

  /** Sends a command and resolves with its reply (ok or not); rejects only if none comes. */
  async run(command: ClientCommand, timeoutMs = 30_000): Promise<ClientReply> {
    const id = this.nextId++;
    this.peer.send({ id, ...command });
    return (await this.peer.waitForLine((line) => line.id === id, timeoutMs, `the reply to command ${id} (${command.op} ${command.method ?? ''})`)) as unknown as ClientReply;
  }

  /**
   * Sends a command written by hand, for values JSON.stringify cannot write (NaN):
   * `line(id)` returns the JSON text of the command with that id.
   */
  async runRaw(line: (id: number) => string, timeoutMs = 30_000): Promise<ClientReply> {
    const id = this.nextId++;
    this.peer.sendLine(line(id));
    return (await this.peer.waitForLine((reply) => reply.id === id, timeoutMs, `the reply to raw command ${id}`)) as unknown as ClientReply;
  }

  /** A call that must succeed: resolves with its result, or throws with the failure. */
  async call(method: string, args: Record<string, unknown> = {}, extra: Omit<ClientCommand, 'op' | 'method' | 'args'> = {}): Promise<unknown> {
    const reply = await this.run({ op: 'call', method, args, ...extra });
    if (!reply.ok) throw new Error(`Python call ${method} failed: ${reply.exc_module}.${reply.exc_class}: ${reply.message}`);
    return reply.result;
  }

  /** A cast that must be sent. */
  async cast(method: string, args: Record<string, unknown> = {}, extra: Omit<ClientCommand, 'op' | 'method' | 'args'> = {}): Promise<void> {
    const reply = await this.run({ op: 'cast', method, args, ...extra });
    if (!reply.ok) throw new Error(`Python cast ${method} failed: ${reply.exc_module}.${reply.exc_class}: ${reply.message}`);
  }
}

/**
 * The peers of one test file. `stopAll()` in afterAll; an exit hook SIGKILLs any
 * that are left if the worker dies first (the peers also exit when orphaned).
 */
export class PeerGroup {
  private readonly peers = new Set<PythonPeer>();
  private readonly onExit = () => {
    for (const peer of this.peers) peer.killNow();
  };

  add(peer: PythonPeer): void {
    if (this.peers.size === 0) process.once('exit', this.onExit);
    this.peers.add(peer);
  }

  /** Stops one peer and forgets it. */
  async stop(peer: PythonPeer): Promise<number | null> {
    const code = await peer.stop();
    this.peers.delete(peer);
    if (this.peers.size === 0) process.removeListener('exit', this.onExit);
    return code;
  }

  /** Stops every peer (SIGTERM, SIGKILL after the bound), in parallel. */
  async stopAll(): Promise<void> {
    const peers = [...this.peers];
    this.peers.clear();
    await Promise.all(peers.map((peer) => peer.stop()));
    process.removeListener('exit', this.onExit);
  }
}

const quietLogger = createLogger({ level: process.env.NOVARPC_TEST_LOG_LEVEL ?? 'silent' });

/**
 * One test file's corner of the shared broker: a unique control exchange and topics,
 * transport URLs for both sides, and removal of the durable queues at the end.
 */
export class InteropBus {
  readonly suffix = randomBytes(4).toString('hex');
  readonly exchange = `interop_${this.suffix}`;
  private readonly queues = new Set<string>();
  private readonly transports: Transport[] = [];

  private constructor(private readonly baseUrl: string) {}

  static async create(): Promise<InteropBus> {
    return new InteropBus(await brokerUrl());
  }

  /** A topic unique to this file; `<topic>` and `<topic>.<server>` are removed at the end. */
  topic(name: string, servers: readonly string[] = ['host1', 'host2']): string {
    const topic = `${name}_${this.suffix}`;
    this.queues.add(topic);
    for (const server of servers) this.queues.add(`${topic}.${server}`);
    return topic;
  }

  /** A notification topic: its `<topic>.<priority>` queues are removed at the end. */
  notificationTopic(name: string): string {
    const topic = `${name}_${this.suffix}`;
    for (const priority of PRIORITY_NAMES) this.queues.add(`${topic}.${priority}`);
    return topic;
  }

  /** The URL a Python peer gets (`--url`): oslo options in the query. */
  pythonUrl(query: Record<string, string> = {}): string {
    const base = this.baseUrl.split('?')[0]!;
    // Python's reply queues cannot be deleted by name from here: let them expire soon.
    const params = new URLSearchParams({ rabbit_transient_queues_ttl: '60', ...query });
    return `${base}?${params.toString()}`;
  }

  /** Python peer arguments for this bus: `--url U --exchange X`. */
  pythonArgs(query: Record<string, string> = {}): string[] {
    return ['--url', this.pythonUrl(query), '--exchange', this.exchange];
  }

  /** The TS transport URL: this exchange, short-lived transient queues, plus `query`. */
  tsUrl(query: Record<string, string> = {}): string {
    const separator = this.baseUrl.includes('?') ? '&' : '?';
    const params = new URLSearchParams({ control_exchange: this.exchange, rabbit_transient_queues_ttl: '60', ...query });
    return `${this.baseUrl}${separator}${params.toString()}`;
  }

  /** A new TS transport (think: a new process) closed at cleanup. */
  transport(query: Record<string, string> = {}, config: Omit<TransportConfig, 'logger'> = {}): Transport {
    const transport = getTransport(this.tsUrl(query), { logger: quietLogger, ...config });
    this.transports.push(transport);
    return transport;
  }

  /** Closes the TS transports, deletes the queues and the exchange. */
  async cleanup(): Promise<void> {
    await Promise.all(this.transports.splice(0).map((transport) => transport.close().catch(() => {})));
    const admin = await amqp.connect(toAmqpUrl(this.baseUrl));
    admin.on('error', () => {});
    try {
      const channel = await admin.createChannel();
      channel.on('error', () => {});
      for (const queue of this.queues) await channel.deleteQueue(queue).catch(() => {});
      await channel.deleteExchange(this.exchange).catch(() => {});
      await channel.close().catch(() => {});
    } finally {
      await admin.close().catch(() => {});
    }
  }
}

/** Python's `str(utcnow())` (notifications) and RPC datetime formats. */
export const PYTHON_NOTIFICATION_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$/;

/** Every JSON type, nested and large, for echo round trips. */
export const JSON_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  42,
  -12.5,
  2 ** 53 - 1,
  1e300,
  '',
  'plain',
  'unicode: ünïcødé ✓ 日本語 🚀 "quotes" \\ back\nslash',
  [],
  {},
  [1, 'two', null, false, { three: 3 }],
  { nested: { deeper: { list: [1, 'two', { three: 3 }], empty: null, flag: true } }, 'key with spaces': 'v' },
  Array.from({ length: 5000 }, (_, i) => i),
];
