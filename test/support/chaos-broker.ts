/**
 * A private RabbitMQ node for tests that stop or restart the broker, so the shared
 * one is never touched: `chaos<N>@localhost` on its own ports, data and logs in a
 * temporary folder, optionally with a TLS listener on a self-signed certificate.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canConnect, freePort } from './net.js';

const run = promisify(execFile);

/** Options for {@link ChaosBroker.start}. */
export interface ChaosBrokerOptions {
  /** AMQP port; default 5673 (the distribution port is port + 20000, or a free one above 45535). */
  port?: number;
  /** Also listen with TLS on this port, with a self-signed certificate. */
  tlsPort?: number;
}

/** A RabbitMQ node of the test's own. */
export class ChaosBroker {
  private constructor(
    readonly nodeName: string,
    readonly port: number,
    readonly directory: string,
    private readonly env: NodeJS.ProcessEnv,
    readonly tls?: { port: number; caFile: string },
  ) {}

  /** Transport URL of this node. */
  get url(): string {
    return `rabbit://guest:guest@127.0.0.1:${this.port}/`;
  }

  /** Starts the node and waits until it accepts connections (fails after 120 s). */
  static async start(options: ChaosBrokerOptions = {}): Promise<ChaosBroker> {
    const port = options.port ?? 5673;
    // A free port from the ephemeral range plus 20000 is no port at all (over 65535).
    const distPort = port + 20000 <= 65535 ? port + 20000 : await freePort();
    const nodeName = `chaos${port}@localhost`;
    const directory = mkdtempSync(join(tmpdir(), 'novarpc-chaos-'));
    chmodSync(directory, 0o777);
    const config = [`listeners.tcp.local = 127.0.0.1:${port}`, 'loopback_users = none'];
    let tls: { port: number; caFile: string } | undefined;
    if (options.tlsPort) {
      const files = await makeSelfSignedCertificate(directory);
      config.push(
        `listeners.ssl.default = 127.0.0.1:${options.tlsPort}`,
        `ssl_options.cacertfile = ${files.caFile}`,
        `ssl_options.certfile = ${files.certFile}`,
        `ssl_options.keyfile = ${files.keyFile}`,
        'ssl_options.verify = verify_none',
        'ssl_options.fail_if_no_peer_cert = false',
      );
      tls = { port: options.tlsPort, caFile: files.caFile };
    }
    writeFileSync(join(directory, 'rabbitmq.conf'), `${config.join('\n')}\n`);
    await run('chown', ['-R', 'rabbitmq:rabbitmq', directory]).catch(() => {});
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(directory, 'mnesia'),
      RABBITMQ_LOG_BASE: join(directory, 'log'),
      RABBITMQ_CONFIG_FILE: join(directory, 'rabbitmq'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(directory, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(directory, 'pid'),
    };
    const broker = new ChaosBroker(nodeName, port, directory, env, tls);
    await run('rabbitmq-server', ['-detached'], { env });
    try {
      await broker.waitUntilListening(120_000); // a boot under load average 20+ can take over a minute
    } catch (error) {
      await broker.destroy(); // no half-started node or folder left behind
      throw error;
    }
    return broker;
  }

  /** Stops the RabbitMQ application (connections drop), keeping the node. */
  async stopApp(): Promise<void> {
    await this.ctl('stop_app');
  }

  /**
   * Starts the application again and waits until it has booted; resolves with the
   * time (epoch ms) it first accepted a TCP connection.
   */
  async startApp(): Promise<number> {
    const starting = this.ctl('start_app');
    const listeningAt = await this.waitUntilListening(60_000);
    await starting;
    return listeningAt;
  }

  /** Stops the node and removes its data. */
  async destroy(): Promise<void> {
    await this.ctl('stop').catch(() => {});
    rmSync(this.directory, { recursive: true, force: true });
  }

  /** Runs `rabbitmqctl -n <node> <args>`. */
  async ctl(...args: string[]): Promise<string> {
    const { stdout } = await run('rabbitmqctl', ['-n', this.nodeName, ...args], { env: this.env, timeout: 60_000 });
    return stdout;
  }

  private async waitUntilListening(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await canConnect('127.0.0.1', this.port)) {
        const listeningAt = Date.now();
        await this.ctl('await_startup').catch(() => {});
        return listeningAt;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`chaos RabbitMQ node ${this.nodeName} did not listen on ${this.port} within ${timeoutMs} ms (logs in ${this.directory}/log)`);
  }
}


async function makeSelfSignedCertificate(directory: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const keyFile = join(directory, 'server.key');
  const certFile = join(directory, 'server.crt');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost']);
  chmodSync(keyFile, 0o644);
  return { caFile: certFile, certFile, keyFile };
}
