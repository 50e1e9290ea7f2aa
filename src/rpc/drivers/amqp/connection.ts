/**
 * One AMQP connection with failover across the host list, backoff between attempts
 * (oslo's rabbit_retry_interval / rabbit_retry_backoff / rabbit_interval_max),
 * TCP_NODELAY, heartbeats and TLS. It reconnects by itself after a loss until closed,
 * and tells its users through `connected` / `lost` events.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import * as amqp from 'amqplib';
import { redactUrlPasswords, type Logger } from '../../../log/logger.js';
import { TransportError } from '../../errors.js';
import type { TransportOptions } from '../../transport-options.js';
import { describeBroker, type BrokerHost } from '../../transport-url.js';
import { explainConnectError } from './connect-errors.js';
import { ignoredFailure } from './ignored-failure.js';
import { coalesceWrites } from './write-coalescing.js';
import { raceDeadline, sleep } from '../../util/time.js';

/** Where and how to connect. */
export interface BrokerConnectionParams {
  hosts: readonly BrokerHost[];
  virtualHost: string;
  tls: boolean;
  options: TransportOptions;
  logger: Logger;
  /** What the connection is for (`publish`, `listen:compute`, `reply`), shown in the broker. */
  purpose: string;
}

/** A self-healing broker connection. Events: `connected` (model), `lost` (error). */
export class BrokerConnection extends EventEmitter {
  private model: amqp.ChannelModel | undefined;
  private modelHost: BrokerHost | undefined;
  private connecting: Promise<amqp.ChannelModel> | undefined;
  private closed = false;
  private failures = 0;
  private hostIndex = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly hosts: BrokerHost[];
  private lastError: Error | undefined;
  private block: { reason: string; lifted: Promise<void>; lift: () => void } | undefined;

  constructor(private readonly params: BrokerConnectionParams) {
    super();
    this.hosts = [...params.hosts];
    if (params.options.kombu_failover_strategy === 'shuffle') shuffle(this.hosts);
    this.on('error', () => {}); // errors are reported through `lost`; never let one escape
  }

  /** The open connection, if any. */
  get current(): amqp.ChannelModel | undefined {
    return this.model;
  }

  /** The host the open connection goes to, if any. */
  get currentHost(): BrokerHost | undefined {
    return this.model ? this.modelHost : undefined;
  }

  /** Why the broker blocks publishes on this connection (a resource alarm), while it does. */
  get blockedReason(): string | undefined {
    return this.block?.reason;
  }

  /** Resolves when the broker lifts its block (or the connection is lost or closed). */
  whenUnblocked(): Promise<void> {
    return this.block?.lifted ?? Promise.resolve();
  }

  /** The logger this connection reports to. */
  get logger(): Logger {
    return this.params.logger;
  }

  /** True once close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Resolves with an open connection, trying the hosts in turn with backoff. Rejects
   * with a TransportError when `deadline` (epoch ms) passes first, or when closed.
   */
  connect(deadline = Infinity): Promise<amqp.ChannelModel> {
    if (this.closed) return Promise.reject(new TransportError(`connection for ${this.params.purpose} is closed`));
    if (this.model) return Promise.resolve(this.model);
    this.connecting ??= this.connectLoop().finally(() => {
      this.connecting = undefined;
    });
    if (deadline === Infinity) return this.connecting;
    return raceDeadline(this.connecting, deadline, () => this.unreachableError());
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const model = this.model;
    this.model = undefined;
    // A connection already lost has nothing left to close (amqplib throws IllegalOperationError).
    if (model) await model.close().catch(ignoredFailure(this.params.logger, 'closing a broker connection that is already closed'));
  }

  private async connectLoop(): Promise<amqp.ChannelModel> {
    while (!this.closed) {
      const host = this.hosts[this.hostIndex % this.hosts.length]!;
      try {
        const model = await this.open(host);
        if (this.closed) {
          await model.close().catch(ignoredFailure(this.params.logger, 'closing a connection opened after close() that is already gone'));
          break;
        }
        this.adopt(model, host);
        return model;
      } catch (error) {
        const reason = explainConnectError(error, host, this.params.virtualHost);
        this.lastError = new Error(reason);
        this.failures += 1;
        this.hostIndex += 1;
        const delay = this.backoffMs();
        this.params.logger.warn(
          { broker: describeBroker(host, this.params.virtualHost), purpose: this.params.purpose, reason, retryInMs: delay },
          `cannot connect to the broker: ${reason}; retrying`,
        );
        await sleep(delay);
      }
    }
    throw new TransportError(`connection for ${this.params.purpose} is closed`);
  }

  private async open(host: BrokerHost): Promise<amqp.ChannelModel> {
    const { options } = this.params;
    const tls = this.params.tls || options.ssl;
    const credentials =
      options.rabbit_login_method === 'PLAIN'
        ? amqp.credentials.plain(host.username, host.password)
        : amqp.credentials.amqplain(host.username, host.password);
    return amqp.connect(
      {
        protocol: tls ? 'amqps' : 'amqp',
        hostname: host.hostname,
        port: host.port,
        username: host.username,
        password: host.password,
        vhost: this.params.virtualHost,
        heartbeat: options.heartbeat_timeout_threshold,
      },
      {
        noDelay: true,
        timeout: 10_000,
        credentials,
        clientProperties: { connection_name: `${basename(process.argv[1] ?? 'node')}:${process.pid}:${this.params.purpose}` },
        ...(tls ? tlsSocketOptions(options) : {}),
      },
    );
  }

  private adopt(model: amqp.ChannelModel, host: BrokerHost): void {
    if (!coalesceWrites(model)) this.params.logger.debug('amqplib internals changed: frames are written one by one (see write-coalescing.ts)');
    this.model = model;
    this.modelHost = host;
    this.failures = 0;
    const where = describeBroker(host, this.params.virtualHost);
    model.on('error', (error: Error) => this.params.logger.warn({ err: scrub(error), purpose: this.params.purpose }, 'broker connection error'));
    model.on('blocked', (reason: string) => this.onBlocked(reason, where));
    model.on('unblocked', () => this.liftBlock(`broker unblocked the connection (${where})`));
    model.on('close', (error?: Error) => this.onClose(model, error));
    this.params.logger.debug({ broker: where, purpose: this.params.purpose }, 'connected to the broker');
    this.emit('connected', model);
  }

  private onBlocked(reason: string, where: string): void {
    const { purpose, options } = this.params;
    this.params.logger.warn(
      { reason, broker: where, purpose, sendTimeoutSeconds: options.send_timeout },
      `broker is blocking publishers (resource alarm: ${reason}); publishes wait up to send_timeout for it to lift`,
    );
    if (this.block) return;
    let lift = () => {};
    const lifted = new Promise<void>((resolve) => (lift = resolve));
    this.block = { reason, lifted, lift };
  }

  private liftBlock(message?: string): void {
    const block = this.block;
    if (!block) return;
    this.block = undefined;
    if (message) this.params.logger.info({ purpose: this.params.purpose, wasBlockedFor: block.reason }, message);
    block.lift();
  }

  private onClose(model: amqp.ChannelModel, error?: Error): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.liftBlock();
    if (this.closed) return;
    const lost = new TransportError(`connection to the broker lost (${this.params.purpose})${error ? `: ${scrub(error).message}` : ''}`);
    this.params.logger.warn({ purpose: this.params.purpose, reason: error ? scrub(error).message : 'closed' }, 'broker connection lost; reconnecting');
    this.emit('lost', lost);
    // The host that just went away is the least likely to answer: try the next one in
    // the list first (kombu's failover cycle does the same), the lost one last.
    this.hostIndex += 1;
    const delay = Math.round(this.params.options.kombu_reconnect_delay * 1000);
    // Not unref'd: a worker whose broker went away must stay alive to reconnect.
    this.reconnectTimer = setTimeout(() => {
      // connect() logs every failed attempt at warn; it rejects only once close() was called.
      this.connect().catch(ignoredFailure(this.params.logger, 'reconnecting stopped because the connection was closed'));
    }, delay);
  }

  private backoffMs(): number {
    const { rabbit_retry_interval: first, rabbit_retry_backoff: step, rabbit_interval_max: max } = this.params.options;
    return Math.round(Math.min(first + step * (this.failures - 1), max) * 1000);
  }

  private unreachableError(): TransportError {
    return new TransportError(`broker unreachable: ${this.describeState()}`);
  }

  /** Where it connects and, when it is down, the last error; never a password. */
  describeState(): string {
    const brokers = this.hosts.map((host) => describeBroker(host, this.params.virtualHost)).join(', ');
    if (this.model) return `connected to ${brokers}`;
    return `no connection to ${brokers}${this.lastError ? ` (last error: ${this.lastError.message})` : ''}`;
  }
}

function tlsSocketOptions(options: TransportOptions): Record<string, unknown> {
  const socket: Record<string, unknown> = {};
  if (options.ssl_ca_file) socket.ca = [readFileSync(options.ssl_ca_file)];
  if (options.ssl_cert_file) socket.cert = readFileSync(options.ssl_cert_file);
  if (options.ssl_key_file) socket.key = readFileSync(options.ssl_key_file);
  // As oslo: validation only with a CA file; hostname check only when enforced.
  socket.rejectUnauthorized = Boolean(options.ssl_ca_file);
  if (!options.ssl_enforce_hostname_verification) socket.checkServerIdentity = () => undefined;
  else socket.checkServerIdentity = (host: string, cert: PeerCertificate) => checkServerIdentity(host, cert);
  return socket;
}

/** An error with any URL password masked. */
function scrub(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const message = redactUrlPasswords(error.message);
  if (message === error.message) return error;
  const copy = new Error(message);
  copy.name = error.name;
  return copy;
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
