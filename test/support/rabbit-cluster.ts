/**
 * A private three-node RabbitMQ cluster on this machine, for tests that kill nodes:
 * node names `nrpc<N>_<rand>@localhost`, free AMQP and distribution ports, data, logs,
 * config, pid and (empty) enabled-plugins files in a temporary folder, and an Erlang
 * cookie of its own shared through a private HOME. The shared broker is never touched.
 *
 * The node scripts run directly (not through the Debian wrapper, which switches to the
 * `rabbitmq` user and its HOME/cookie), with `RABBITMQ_CONF_ENV_FILE` pointing at an
 * empty file: the system's rabbitmq-env.conf would otherwise force `rabbit@localhost`.
 * Every node is killed at teardown and, as a last resort, when the test process exits.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canConnect, freePort } from './net.js';

const run = promisify(execFile);
const SCRIPTS = '/usr/lib/rabbitmq/bin';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One node of the cluster. */
export interface ClusterNode {
  readonly index: number;
  readonly name: string;
  readonly port: number;
  readonly directory: string;
  readonly env: NodeJS.ProcessEnv;
}

/** What `list_queues` says about a replicated queue. */
export interface QueueReplicas {
  leader: string;
  members: string[];
  online: string[];
}

/** Node pids of every cluster this process started, for the exit hook. */
const livePidFiles = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const pidFile of livePidFiles) killByPidFile(pidFile);
  };
  process.once('exit', killAll);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(1);
    });
  }
}

/**
 * Kills the nodes of clusters whose test process is gone (killed before its teardown
 * ran) and removes their folders: a SIGKILLed run must not leave nodes behind.
 */
function reapOrphans(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith('novarpc-cluster-')) continue;
    const directory = join(tmpdir(), entry);
    const owner = readPid(join(directory, 'owner.pid'));
    if (owner === undefined || isAlive(owner)) continue;
    for (const node of readdirSync(directory)) if (node.startsWith('node')) killByPidFile(join(directory, node, 'pid'));
    rmSync(directory, { recursive: true, force: true });
  }
}

function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs the node whose VM wrote `pidFile`; true if it was running. */
function killByPidFile(pidFile: string): boolean {
  const pid = readPid(pidFile);
  if (pid === undefined || !isAlive(pid)) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** A private RabbitMQ cluster. */
export class RabbitCluster {
  private destroyed = false;

  private constructor(
    readonly nodes: readonly ClusterNode[],
    readonly directory: string,
  ) {}

  /** Starts `size` nodes, clusters them and waits until all run (fails after 180 s). */
  static async start(size = 3): Promise<RabbitCluster> {
    installExitHook();
    reapOrphans();
    const directory = mkdtempSync(join(tmpdir(), 'novarpc-cluster-'));
    writeFileSync(join(directory, 'owner.pid'), String(process.pid));
    const home = join(directory, 'home');
    mkdirSync(home);
    writeFileSync(join(home, '.erlang.cookie'), randomBytes(20).toString('hex').toUpperCase(), { mode: 0o400 });
    writeFileSync(join(directory, 'empty-env.conf'), '');
    const tag = randomBytes(3).toString('hex');
    const nodes: ClusterNode[] = [];
    for (let index = 0; index < size; index++) nodes.push(await prepareNode(directory, home, tag, index));
    const cluster = new RabbitCluster(nodes, directory);
    try {
      await Promise.all(nodes.map((node) => cluster.launch(node)));
      for (const node of nodes.slice(1)) {
        await cluster.ctl(node.index, 'stop_app');
        await cluster.ctl(node.index, 'reset');
        await cluster.ctl(node.index, 'join_cluster', nodes[0]!.name);
        await cluster.ctl(node.index, 'start_app');
      }
      await Promise.all(nodes.map((node) => cluster.waitUntilListening(node)));
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** A transport URL listing the nodes in `order` (default: all, in index order). */
  url(order: readonly number[] = this.nodes.map((node) => node.index), query = ''): string {
    const hosts = order.map((index) => `guest:guest@127.0.0.1:${this.nodes[index]!.port}`).join(',');
    return `rabbit://${hosts}/${query ? `?${query}` : ''}`;
  }

  /** The AMQP URL of one node (for raw amqplib connections). */
  amqpUrl(index: number): string {
    return `amqp://guest:guest@127.0.0.1:${this.nodes[index]!.port}`;
  }

  /** The node index with this node name. */
  indexOf(name: string): number {
    const node = this.nodes.find((candidate) => candidate.name === name);
    if (!node) throw new Error(`no node ${name} in this cluster`);
    return node.index;
  }

  /** SIGKILLs a node's Erlang VM and waits until its AMQP port is closed. */
  async kill(index: number): Promise<void> {
    const node = this.nodes[index]!;
    const pidFile = join(node.directory, 'pid');
    const pid = readPid(pidFile);
    if (pid === undefined || !killByPidFile(pidFile)) throw new Error(`node ${node.name} is not running (no live pid in ${pidFile})`);
    for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(50);
    while (await canConnect('127.0.0.1', node.port, 500)) await sleep(50);
  }

  /** Starts a killed node again; resolves once it runs (and rejoined the cluster). */
  async restart(index: number): Promise<void> {
    await this.launch(this.nodes[index]!);
  }

  /** Starts every node that is not running (after a test that failed half-way). */
  async ensureAllRunning(): Promise<void> {
    for (const node of this.nodes) {
      const pid = readPid(join(node.directory, 'pid'));
      if (pid === undefined || !isAlive(pid)) await this.launch(node);
    }
  }

  /** Runs `rabbitmqctl -n <node> <args>` (quiet) and returns its output. */
  async ctl(index: number, ...args: string[]): Promise<string> {
    return this.tool('rabbitmqctl', index, args);
  }

  /** Runs `rabbitmq-queues -n <node> <args>` (quiet). */
  async queues(index: number, ...args: string[]): Promise<string> {
    return this.tool('rabbitmq-queues', index, args);
  }

  /** Leader, members and online replicas of a quorum queue or stream, asked of node `via`. */
  async replicas(queue: string, via: number): Promise<QueueReplicas> {
    const rows = JSON.parse(await this.ctl(via, 'list_queues', 'name', 'leader', 'members', 'online', '--formatter', 'json')) as Array<
      QueueReplicas & { name: string }
    >;
    const row = rows.find((candidate) => candidate.name === queue);
    if (!row) throw new Error(`no queue ${queue} on the cluster (asked ${this.nodes[via]!.name})`);
    return { leader: row.leader, members: row.members, online: row.online };
  }

  /** Stops every node (SIGKILL: nothing here needs a clean shutdown) and removes the data. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const node of this.nodes) {
      const pidFile = join(node.directory, 'pid');
      killByPidFile(pidFile);
      livePidFiles.delete(pidFile);
    }
    await sleep(200);
    rmSync(this.directory, { recursive: true, force: true });
  }

  private async tool(name: string, index: number, args: string[]): Promise<string> {
    const node = this.nodes[index]!;
    const { stdout } = await run(join(SCRIPTS, name), ['-q', '-n', node.name, ...args], { env: node.env, timeout: 60_000 });
    return stdout;
  }

  /** `rabbitmq-server -detached`, then waits until the node registered and booted. */
  private async launch(node: ClusterNode): Promise<void> {
    const pidFile = join(node.directory, 'pid');
    rmSync(pidFile, { force: true });
    livePidFiles.add(pidFile);
    await run(join(SCRIPTS, 'rabbitmq-server'), ['-detached'], { env: node.env, timeout: 60_000 });
    await this.waitUntilListening(node);
  }

  private async waitUntilListening(node: ClusterNode, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      // await_startup fails at once while the VM has not registered with epmd yet.
      const booted = await this.ctl(node.index, 'await_startup', '--timeout', '60').then(
        () => true,
        () => false,
      );
      if (booted && (await canConnect('127.0.0.1', node.port))) return;
      await sleep(300);
    }
    throw new Error(`cluster node ${node.name} did not start within ${timeoutMs} ms (logs in ${node.directory}/log)`);
  }
}

/** Ports, folders and environment of node `index`. */
async function prepareNode(directory: string, home: string, tag: string, index: number): Promise<ClusterNode> {
  const nodeDirectory = join(directory, `node${index + 1}`);
  mkdirSync(nodeDirectory);
  const port = await freePort();
  const distPort = await freePort();
  writeFileSync(join(nodeDirectory, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\nloopback_users = none\n`);
  writeFileSync(join(nodeDirectory, 'enabled_plugins'), '[].\n');
  const name = `nrpc${index + 1}_${tag}@localhost`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    RABBITMQ_CONF_ENV_FILE: join(directory, 'empty-env.conf'),
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(nodeDirectory, 'mnesia'),
    RABBITMQ_LOG_BASE: join(nodeDirectory, 'log'),
    RABBITMQ_CONFIG_FILE: join(nodeDirectory, 'rabbitmq'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(nodeDirectory, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(nodeDirectory, 'pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  return { index, name, port, directory: nodeDirectory, env };
}
