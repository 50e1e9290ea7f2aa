/**
 * End to end with separate worker processes on the real RabbitMQ and MariaDB: api,
 * scheduler, network and two computes, each `novarpc <service>` started from the CLI
 * with a nova.conf-style file plus env and flags, driven through HTTP.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { brokerUrl, databaseUrl } from '../support/services.js';
import { createDatabase, deleteBrokerObjects, freePort, queueDepth, startWorker, suffix, type Worker } from './processes.js';
import { IMAGE, OTHER, USER } from './support.js';

const ADMIN = 'admin:project-a';
const SERVICE_DOWN_TIME = 4;

describe('services as separate processes on RabbitMQ and MariaDB', () => {
  const id = suffix();
  const exchange = `nova_test_${id}`;
  const topics = { scheduler: `scheduler_${id}`, compute: `compute_${id}`, network: `network_${id}` };
  const notificationTopic = `notifications_${id}`;
  const workers = new Map<string, Worker>();
  let endpoint = '';
  let transportUrl = '';
  let database: { url: string; drop(): Promise<void> };
  let db: Db;
  let dir = '';

  const request = async (method: string, path: string, body?: unknown, token = USER) => {
    const response = await fetch(`${endpoint}${path}`, {
      method,
      headers: { 'x-auth-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, requestId: response.headers.get('x-openstack-request-id') };
  };
  const boot = async (name: string, metadata: Record<string, string> = {}) => {
    const answer = await request('POST', '/servers', { server: { name, imageRef: IMAGE, flavorRef: '1', metadata } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    return { id: answer.body.server.id as string, requestId: answer.requestId! };
  };
  const waitFor = async (serverId: string, statuses: string[], timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < deadline) {
      const answer = await request('GET', `/servers/${serverId}`, undefined, ADMIN);
      if (answer.status === 404 && statuses.includes('DELETED')) return { status: 'DELETED' };
      last = answer.body?.server;
      if (last && statuses.includes(last.status) && !last['OS-EXT-STS:task_state']) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`server ${serverId} not ${statuses.join('/')}; last ${JSON.stringify(last)}`);
  };
  const start = (name: string, args: string[]) => workers.set(name, startWorker(name, [...args, '--config-file', join(dir, 'nova.conf')], {}));

  beforeAll(async () => {
    transportUrl = await brokerUrl();
    database = await createDatabase(await databaseUrl());
    db = await createDb({ url: database.url, migrate: true });
    dir = await mkdtemp(join(tmpdir(), 'novarpc-e2e-'));
    const port = await freePort();
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
        `service_down_time = ${SERVICE_DOWN_TIME}`,
        'periodic_interval = 2',
        'graceful_shutdown_timeout = 5',
        'rpc_response_timeout = 20',
        '',
        '[database]',
        `connection = ${database.url}`,
        'auto_migrate = false',
        'max_pool_size = 5',
        '',
        '[api]',
        'listen = 127.0.0.1',
        `listen_port = ${port}`,
        '',
        '[notifications]',
        `topics = ${notificationTopic}`,
        '',
      ].join('\n'),
    );
    endpoint = `http://127.0.0.1:${port}/v2.1`;
    start('network', ['network', '--host', 'net-host']);
    start('scheduler', ['scheduler', '--host', 'sched-host']);
    start('compute-a', ['compute', '--host', 'cmp-a']);
    start('compute-b', ['compute', '--host', 'cmp-b']);
    start('api', ['api', '--host', 'api-host']);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const up = await request('GET', '/os-services', undefined, ADMIN).catch(() => undefined);
      const states = (up?.body?.services ?? []).filter((s: { state: string }) => s.state === 'up').length;
      if (states >= 5) break;
      for (const worker of workers.values()) {
        if (worker.process.exitCode !== null) throw new Error(`${worker.name} exited: ${worker.stderr.join('')}`);
      }
      if (Date.now() > deadline) throw new Error(`services not up: ${JSON.stringify(up?.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }, 90_000);

  afterAll(async () => {
    const codes = await Promise.all([...workers.values()].map((worker) => worker.stop()));
    await db?.close();
    await database?.drop();
    const queues = [
      topics.scheduler, `${topics.scheduler}.sched-host`, topics.network, `${topics.network}.net-host`,
      topics.compute, `${topics.compute}.cmp-a`, `${topics.compute}.cmp-b`, `${notificationTopic}.info`, `${notificationTopic}.error`,
    ];
    if (transportUrl) await deleteBrokerObjects(transportUrl, queues, [exchange]);
    if (dir) await rm(dir, { recursive: true, force: true });
    expect(codes.every((code) => code === 0)).toBe(true);
  }, 60_000);

  it('boots 20 servers to ACTIVE with distinct addresses spread over both computes', async () => {
    const boots = await Promise.all(Array.from({ length: 20 }, (_, i) => boot(`e2e-${i}`)));
    const servers = await Promise.all(boots.map((b) => waitFor(b.id, ['ACTIVE', 'ERROR'])));
    expect(servers.map((s) => s.status)).toEqual(Array(20).fill('ACTIVE'));
    const addresses = servers.map((s) => s.addresses.private[0].addr);
    expect(new Set(addresses).size).toBe(20);
    const hosts = servers.map((s) => s['OS-EXT-SRV-ATTR:host']);
    expect(new Set(hosts)).toEqual(new Set(['cmp-a', 'cmp-b']));
    expect(await queueDepth(transportUrl, `${notificationTopic}.info`)).toBeGreaterThanOrEqual(40);

    // One boot's request_id is in the logs of all four kinds of service.
    const { requestId } = boots[0]!;
    const seenBy = [...workers.values()].filter((w) => w.lines.some((line) => line.request_id === requestId)).map((w) => w.name);
    expect(seenBy).toEqual(expect.arrayContaining(['api', 'scheduler', 'network']));
    expect(seenBy.some((name) => name.startsWith('compute-'))).toBe(true);
  }, 60_000);

  it('delete frees the address', async () => {
    const { id: serverId } = await boot('to-delete');
    const server = await waitFor(serverId, ['ACTIVE']);
    const address = server.addresses.private[0].addr;
    expect((await request('DELETE', `/servers/${serverId}`)).status).toBe(204);
    await waitFor(serverId, ['DELETED']);
    await expect.poll(async () => (await db.fixedIps.getByAddress({ isAdmin: true }, address)).instance_uuid, { timeout: 10_000 }).toBeNull();
  }, 30_000);

  it('metadata, rename, reboot and resize work through HTTP; other projects see 404', async () => {
    const { id: serverId } = await boot('flows', { a: '1' });
    await waitFor(serverId, ['ACTIVE']);
    expect((await request('POST', `/servers/${serverId}/metadata`, { metadata: { b: '2' } })).body.metadata).toEqual({ a: '1', b: '2' });
    expect((await request('DELETE', `/servers/${serverId}/metadata/a`)).status).toBe(204);
    expect((await request('PUT', `/servers/${serverId}`, { server: { name: 'flows-renamed' } })).body.server.name).toBe('flows-renamed');
    expect((await request('POST', `/servers/${serverId}/action`, { reboot: { type: 'HARD' } })).status).toBe(202);
    await waitFor(serverId, ['ACTIVE']);
    expect((await request('POST', `/servers/${serverId}/action`, { resize: { flavorRef: '2' } })).status).toBe(202);
    expect((await waitFor(serverId, ['VERIFY_RESIZE'])).flavor.id).toBe('2');
    expect((await request('POST', `/servers/${serverId}/action`, { confirmResize: null })).status).toBe(204);
    const final = await waitFor(serverId, ['ACTIVE']);
    expect(final).toMatchObject({ name: 'flows-renamed', metadata: { b: '2' }, flavor: { id: '2' } });
    expect((await request('GET', `/servers/${serverId}`, undefined, OTHER)).status).toBe(404);
    expect((await request('DELETE', `/servers/${serverId}`, undefined, OTHER)).status).toBe(404);
  }, 30_000);

  it('a fake-driver failure on one compute is rescheduled to the other', async () => {
    const results: Array<{ id: string; requestId: string }> = [];
    for (let i = 0; i < 6; i++) {
      const booted = await boot(`resched-${i}`, { 'fake_driver:fail_on': 'cmp-a' });
      results.push(booted);
      expect((await waitFor(booted.id, ['ACTIVE']))['OS-EXT-SRV-ATTR:host']).toBe('cmp-b');
    }
    const failedOnA = workers.get('compute-a')!.lines.filter((line) => results.some((r) => r.requestId === line.request_id) && /build failed/.test(line.msg));
    expect(failedOnA.length).toBeGreaterThan(0);
  }, 60_000);

  it('a stopped compute exits 0 and stops receiving builds after service_down_time', async () => {
    const code = await workers.get('compute-b')!.stop('SIGTERM');
    expect(code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, (SERVICE_DOWN_TIME + 1.5) * 1000));
    const services = await request('GET', '/os-services?binary=nova-compute', undefined, ADMIN);
    const states = Object.fromEntries(services.body.services.map((s: { host: string; state: string }) => [s.host, s.state]));
    expect(states).toEqual({ 'cmp-a': 'up', 'cmp-b': 'down' });
    const boots = await Promise.all(Array.from({ length: 4 }, (_, i) => boot(`after-stop-${i}`)));
    const servers = await Promise.all(boots.map((b) => waitFor(b.id, ['ACTIVE'])));
    expect(servers.map((s) => s['OS-EXT-SRV-ATTR:host'])).toEqual(Array(4).fill('cmp-a'));
  }, 40_000);
});
