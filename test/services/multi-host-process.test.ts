/**
 * Many compute hosts in one process (`novarpc compute --compute-hosts mh-c[1-3]`) on the
 * real RabbitMQ and MariaDB: each host is a compute service of its own (its row in
 * services, its compute.<host> queue, its compute node), servers booted through the API
 * land on every one of them, the process holds one listening broker connection for all
 * three, and their heartbeats are one statement per interval (same updated_at).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { resolveServiceConfig } from '../../src/services/config.js';
import { launch, type Runtime } from '../../src/services/runtime.js';
import { brokerUrl, databaseUrl } from '../support/services.js';
import { createDatabase, deleteBrokerObjects, freePort, startWorker, suffix, type Worker } from './processes.js';
import { ADMIN, IMAGE, USER } from './support.js';

const HOSTS = ['mh-c1', 'mh-c2', 'mh-c3'];

describe('several compute hosts in one process', () => {
  const id = suffix();
  const exchange = `nova_mh_${id}`;
  const topics = { scheduler: `scheduler_mh_${id}`, compute: `compute_mh_${id}`, network: `network_mh_${id}` };
  const notificationTopic = `notifications_mh_${id}`;
  let worker: Worker | undefined;
  let runtime: Runtime | undefined;
  let database: { url: string; drop(): Promise<void> };
  let db: Db;
  let dir = '';
  let transportUrl = '';
  let endpoint = '';

  const request = async (method: string, path: string, body?: unknown, token = USER) => {
    const response = await fetch(`${endpoint}${path}`, {
      method,
      headers: { 'x-auth-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    transportUrl = await brokerUrl();
    database = await createDatabase(await databaseUrl(), 'novarpc_mh');
    db = await createDb({ url: database.url, migrate: true });
    await db.networks.create({ isAdmin: true }, { label: 'mh', cidr: '10.77.0.0/24' });
    const port = await freePort();
    const settings = {
      transportUrl,
      controlExchange: exchange,
      topics,
      databaseConnection: database.url,
      autoMigrate: false,
      reportInterval: 1,
      periodicInterval: 2,
      gracefulShutdownTimeout: 5,
      notificationTopics: [notificationTopic],
    };
    // network, scheduler and api in this process; the three computes in a worker of their own.
    const config = resolveServiceConfig({ ...settings, host: 'mh-ctl', logLevel: 'warn', api: { listen: '127.0.0.1', port } });
    runtime = await launch({ config, services: ['network', 'scheduler', 'api'], logger: silentLogger() });
    endpoint = `http://127.0.0.1:${port}/v2.1`;
    dir = await mkdtemp(join(tmpdir(), 'novarpc-mh-'));
    await writeFile(
      join(dir, 'nova.conf'),
      [
        '[DEFAULT]',
        `transport_url = ${transportUrl}`,
        `control_exchange = ${exchange}`,
        `scheduler_topic = ${topics.scheduler}`,
        `compute_topic = ${topics.compute}`,
        `network_topic = ${topics.network}`,
        'report_interval = 1',
        'periodic_interval = 2',
        'graceful_shutdown_timeout = 5',
        '[database]',
        `connection = ${database.url}`,
        'auto_migrate = false',
        '[notifications]',
        `topics = ${notificationTopic}`,
        '',
      ].join('\n'),
    );
    worker = startWorker('computes', ['compute', '--host', 'mh-c1', '--compute-hosts', 'mh-c[1-3]', '--config-file', join(dir, 'nova.conf')], {});
    const deadline = Date.now() + 90_000;
    for (;;) {
      const answer = await request('GET', '/os-services?binary=nova-compute', undefined, ADMIN);
      const up = (answer.body?.services ?? []).filter((s: { state: string; host: string }) => s.state === 'up' && HOSTS.includes(s.host));
      if (up.length === HOSTS.length) break;
      if (worker.process.exitCode !== null) throw new Error(`compute worker exited: ${worker.stderr.join('')}`);
      if (Date.now() > deadline) throw new Error(`computes not up: ${JSON.stringify(answer.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }, 120_000);

  afterAll(async () => {
    const code = await worker?.stop();
    await runtime?.stop();
    await db?.close();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
    const queues = [
      topics.scheduler, `${topics.scheduler}.mh-ctl`, topics.network, `${topics.network}.mh-ctl`, topics.compute,
      ...HOSTS.map((host) => `${topics.compute}.${host}`), `${notificationTopic}.info`, `${notificationTopic}.error`,
    ];
    if (transportUrl) await deleteBrokerObjects(transportUrl, queues, [exchange]);
    expect(code, 'the compute worker stops cleanly on SIGTERM').toBe(0);
  }, 60_000);

  it('boots servers on each of the hosts of the one process', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await request('POST', '/servers', { server: { name: `mh-${i}`, imageRef: IMAGE, flavorRef: '1' } });
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      ids.push(answer.body.server.id);
    }
    const hosts = new Set<string>();
    for (const serverId of ids) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const server = (await request('GET', `/servers/${serverId}`, undefined, ADMIN)).body?.server;
        if (server?.status === 'ACTIVE') {
          hosts.add(server['OS-EXT-SRV-ATTR:host']);
          break;
        }
        if (server?.status === 'ERROR' || Date.now() > deadline) throw new Error(`server ${serverId}: ${JSON.stringify(server)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    expect([...hosts].sort()).toEqual(HOSTS);
    const nodes = await db.computeNodes.list({ isAdmin: true });
    for (const host of HOSTS) expect(nodes.find((node) => node.host === host)?.running_vms, host).toBeGreaterThan(0);
  }, 120_000);

  it('holds one listening connection for its three compute servers, and a queue per host', async () => {
    const pid = worker!.process.pid!;
    const run = promisify(execFile);
    const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_connections', 'client_properties'], { maxBuffer: 64 * 1024 * 1024 });
    const names = [...stdout.matchAll(/connection_name","([^"]+)"/g)].map((match) => match[1]!).filter((name) => name.includes(`:${pid}:`));
    expect(names.filter((name) => name.includes(':listen:')), names.join(', ')).toHaveLength(1);
    const queues = (await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_queues', 'name'], { maxBuffer: 64 * 1024 * 1024 })).stdout.split('\n');
    for (const host of HOSTS) expect(queues).toContain(`${topics.compute}.${host}`);
  }, 60_000);

  it('records the three heartbeats in one statement per report_interval', async () => {
    const rows = async () => (await db.services.list({ isAdmin: true }, { binary: 'nova-compute' })).filter((row) => HOSTS.includes(row.host));
    const first = await rows();
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const later = await rows();
    for (const row of later) {
      const before = first.find((candidate) => candidate.id === row.id)!;
      expect(row.report_count, row.host).toBeGreaterThan(before.report_count);
    }
    // One UPDATE for all three: the same updated_at on every row.
    expect(new Set(later.map((row) => row.updated_at?.getTime())).size).toBe(1);
  }, 60_000);
});
