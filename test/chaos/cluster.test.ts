/**
 * Node failures on a private three-node RabbitMQ cluster (started once for the file),
 * with novarpc's default durable quorum topology and a multi-host transport URL:
 * - the node leading the topic's quorum queue is SIGKILLed under casts and calls;
 * - the node a client and one server are connected to (not the leader) dies;
 * - two nodes die (no majority), then one comes back.
 * Nothing the broker confirmed may be lost and no cast runs twice: the servers share
 * duplicate claims through a MariaDB table (SqlDuplicateStore), so a cast the client sent
 * again after losing its confirm runs once even when the copies reach different servers.
 * Each scenario ends with the killed nodes back in the cluster, holding their replicas.
 * Recovery is measured from the SIGKILL to the first call started after it succeeding or
 * the first cast sent after it being processed, whichever came first.
 */
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import knexFactory, { type Knex } from 'knex';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { controlExchange, workQueue } from '../../src/rpc/drivers/amqp/topology.js';
import { resolveOptions } from '../../src/rpc/index.js';
import { waitFor } from '../support/harness.js';
import { RabbitCluster } from '../support/rabbit-cluster.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch.js';
import { databaseUrl } from '../support/services.js';
import { ClusterLoad, FAST_RECONNECT, type RecordingServer } from './cluster-load.js';
import { ChaosSummary } from './summary.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RabbitMQ cluster: node failures under load', () => {
  let cluster: RabbitCluster;
  let scratch: ScratchDatabase | undefined;
  let claims: Knex;
  const summary = new ChaosSummary();
  const loads: ClusterLoad[] = [];

  beforeAll(async () => {
    scratch = await createScratchDatabase(await databaseUrl(), `nrpc_cluster_${randomBytes(4).toString('hex')}`);
    claims = knexFactory({ client: 'mysql2', connection: scratch.url.replace(/^mariadb:/, 'mysql:'), pool: { min: 0, max: 20 } });
    cluster = await RabbitCluster.start(3);
  }, 240_000);

  beforeEach(async () => {
    await cluster.ensureAllRunning();
  }, 180_000);

  afterEach(async () => {
    // The next scenario counts connections by name: this one's must be gone.
    await Promise.race([loads.at(-1)?.close(), sleep(20_000)]);
  }, 30_000);

  afterAll(async () => {
    summary.print();
    try {
      await Promise.race([Promise.all(loads.map((load) => load.close())), sleep(20_000)]);
    } finally {
      await cluster?.destroy();
      await claims?.destroy();
      await scratch?.drop();
    }
  }, 60_000);

  /** Node indexes starting at `first`, then the others in ring order. */
  const ring = (first: number) => [0, 1, 2].map((offset) => (first + offset) % 3);

  /** A new topic whose quorum queue is declared through node `home`, so it leads there. */
  async function topicLedBy(home: number): Promise<{ load: ClusterLoad; leader: number }> {
    const suffix = randomBytes(3).toString('hex');
    const load = new ClusterLoad(`cl_${suffix}`, `cluster_${suffix}`, claims);
    loads.push(load);
    onTestFailed(() => console.log(load.diagnostics()));
    const options = resolveOptions({});
    const admin = await amqp.connect(cluster.amqpUrl(home));
    const channel = await admin.createChannel();
    const exchange = controlExchange(options);
    await channel.assertExchange(load.exchange, exchange.type, exchange.options);
    await channel.assertQueue(load.topic, workQueue(options));
    await admin.close();
    const leader = cluster.indexOf((await cluster.replicas(load.topic, home)).leader);
    return { load, leader };
  }

  /** Which node (index) each connection named `...:<purpose>` (novarpc's connection_name) is on. */
  async function nodesOf(purpose: string, via: number): Promise<number[]> {
    const rows = JSON.parse(await cluster.ctl(via, 'list_connections', 'client_properties', 'port', '--formatter', 'json')) as Array<{
      client_properties: Array<[string, string, unknown]>;
      port: number;
    }>;
    const named = (row: (typeof rows)[number]) => String(row.client_properties.find(([key]) => key === 'connection_name')?.[2] ?? '');
    return rows.filter((row) => named(row).endsWith(`:${purpose}`)).map((row) => cluster.nodes.findIndex((node) => node.port === row.port));
  }

  /** Restarts `index` and waits until it is back among the queue's online replicas. */
  async function rejoin(index: number, queue: string, via: number): Promise<number> {
    const startedAt = Date.now();
    await cluster.restart(index);
    const name = cluster.nodes[index]!.name;
    for (;;) {
      const replicas = await cluster.replicas(queue, via);
      if (replicas.members.includes(name) && replicas.online.includes(name)) return (Date.now() - startedAt) / 1000;
      if (Date.now() - startedAt > 90_000) throw new Error(`${name} did not take its replica of ${queue} again: ${JSON.stringify(replicas)}`);
      await sleep(500);
    }
  }

  function record(scenario: string, load: ClusterLoad, sent: number, recoverySeconds: number | undefined, notes: string): void {
    summary.add({
      scenario,
      sent,
      confirmed: load.confirmed.size,
      processed: load.invocations.size,
      lost: load.lost,
      duplicated: load.duplicated,
      recoverySeconds,
      notes,
    });
  }

  /** Waits for service after the fault at `since`; the seconds it took. */
  async function recovered(load: ClusterLoad, since: number, timeoutMs: number): Promise<number> {
    await waitFor(() => load.recoverySince(since) !== undefined, timeoutMs, 'a call or cast succeeding after the kill');
    return load.recoverySince(since)!;
  }

  const suppressedBy = (servers: RecordingServer[]) => servers.reduce((sum, server) => sum + server.server.stats.duplicates, 0);

  const noRestarts = (server: RecordingServer) =>
    server.logs.matching('consumer restarted').length + server.logs.matching('broker connection lost').length;

  it('the quorum leader dies: nothing confirmed lost, clients fail over, surviving consumers keep consuming', async () => {
    const { load, leader } = await topicLedBy(0);
    const query = `${FAST_RECONNECT}&send_timeout=30`;
    const survivors = ring(leader).slice(1);
    const servers = [
      await load.startServer('s1', cluster.url(ring(survivors[0]!), query)),
      await load.startServer('s2', cluster.url(ring(survivors[1]!), query)),
    ];
    // The client lists the leader first: it is connected to the node that dies.
    const { client } = load.client(cluster.url(ring(leader), query));
    const total = 4000;
    // Paced (at most ~500 casts/s) so that casting goes on for seconds after the kill.
    load.startCasting(client, total, 4, 8);
    load.startCalling(client);
    await waitFor(() => load.confirmed.size >= 1000, 60_000, '1000 confirmed casts before the kill');
    expect(await nodesOf('reply', survivors[0]!)).toEqual([leader]);

    const killStartedAt = Date.now();
    const confirmedBeforeKill = load.confirmed.size;
    await cluster.kill(leader);
    await load.castsDone();
    await waitFor(() => load.allConfirmedProcessed, 60_000, 'every confirmed cast processed');
    const recovery = await recovered(load, killStartedAt, 30_000);
    await waitFor(() => load.firstCallOkAfter(killStartedAt) !== undefined, 30_000, 'a call succeeding after the kill');
    const callsBack = (load.firstCallOkAfter(killStartedAt)! - killStartedAt) / 1000;
    await load.stopCalling();
    const newLeader = (await cluster.replicas(load.topic, survivors[0]!)).leader;
    // The client's reply connection moved to the next host in its list.
    const replyNodes = await nodesOf('reply', survivors[0]!);
    const rejoinSeconds = await rejoin(leader, load.topic, survivors[0]!);

    const consumedAfter = servers.map((server) => server.processedSince(killStartedAt));
    record(
      'cluster: quorum leader killed (casts)',
      load,
      total,
      recovery,
      `new leader ${newLeader.split('@')[0]}, calls back after ${callsBack.toFixed(2)} s, sent again ${load.resent}, copies dropped ${suppressedBy(servers)}, rejoined in ${rejoinSeconds.toFixed(1)} s, processed after the kill by s1/s2: ${consumedAfter.join('/')}, errors: ${load.errorCodes().join(' ') || 'none'}`,
    );
    expect(load.lost).toBe(0);
    // Copies the client sent again (its confirm was lost with the leader) run once, even
    // when they reach different servers: the servers share their claims.
    expect(load.duplicated).toBe(0);
    expect(load.confirmed.size + load.castFailures.length).toBe(total);
    expect(load.errorCodes().every((code) => ['TRANSPORT_ERROR', 'MESSAGING_TIMEOUT'].includes(code))).toBe(true);
    expect(replyNodes).toEqual([survivors[0]]);
    expect(newLeader).not.toBe(cluster.nodes[leader]!.name);
    // Consumers on the surviving nodes go on consuming without a restart.
    expect(load.confirmed.size - confirmedBeforeKill, 'casts confirmed after the kill').toBeGreaterThan(0);
    for (const [i, server] of servers.entries()) {
      expect(noRestarts(server), `${server.name} kept its consumer`).toBe(0);
      expect(consumedAfter[i], `${server.name} consumed after the kill`).toBeGreaterThan(0);
    }
    expect(recovery).toBeLessThan(5);
    expect(callsBack).toBeLessThan(5);
  }, 240_000);

  it("the node a client and a server are connected to dies (not the leader): they fail over, nothing confirmed lost", async () => {
    const { load, leader } = await topicLedBy(1);
    const query = `${FAST_RECONNECT}&send_timeout=30`;
    const [, victim, other] = ring(leader);
    const onVictim = await load.startServer('s1', cluster.url(ring(victim!), query));
    const elsewhere = await load.startServer('s2', cluster.url(ring(other!), query));
    const { client } = load.client(cluster.url(ring(victim!), query));
    const total = 3000;
    load.startCasting(client, total, 4, 8);
    load.startCalling(client);
    await waitFor(() => load.confirmed.size >= 800, 60_000, '800 confirmed casts before the kill');

    const killStartedAt = Date.now();
    await cluster.kill(victim!);
    await load.castsDone();
    await waitFor(() => load.allConfirmedProcessed, 60_000, 'every confirmed cast processed');
    const recovery = await recovered(load, killStartedAt, 30_000);
    await waitFor(() => load.firstCallOkAfter(killStartedAt) !== undefined, 30_000, 'a call succeeding after the kill');
    const callsBack = (load.firstCallOkAfter(killStartedAt)! - killStartedAt) / 1000;
    await load.stopCalling();
    const replyNodes = await nodesOf('reply', leader);
    const rejoinSeconds = await rejoin(victim!, load.topic, leader);
    const suppressed = suppressedBy([onVictim, elsewhere]);

    record(
      'cluster: client and server node killed (casts)',
      load,
      total,
      recovery,
      `leader stayed, calls back after ${callsBack.toFixed(2)} s, sent again ${load.resent}, copies dropped ${suppressed}, rejoined in ${rejoinSeconds.toFixed(1)} s`,
    );
    expect(load.lost).toBe(0);
    // Casts s1 had processed but whose acks died with its node come back to the queue
    // (at-least-once); the shared claims drop them wherever they land.
    expect(load.duplicated).toBe(0);
    expect(load.confirmed.size + load.castFailures.length).toBe(total);
    expect(replyNodes).toEqual([other]);
    expect(onVictim.processedSince(killStartedAt), 's1 consumes again after failing over').toBeGreaterThan(0);
    expect(noRestarts(elsewhere), 's2 kept its consumer').toBe(0);
    expect(onVictim.logs.matching('consumer restarted').length, 's1 re-consumed on another node').toBeGreaterThan(0);
    expect(recovery).toBeLessThan(5);
    expect(callsBack).toBeLessThan(5);
  }, 240_000);

  it('two nodes die (no majority): publishes fail clearly after send_timeout, nothing confirmed lost, service resumes with a majority', async () => {
    const { load, leader } = await topicLedBy(2);
    const sendTimeout = 3;
    const query = `${FAST_RECONNECT}&send_timeout=${sendTimeout}`;
    const [, first, second] = ring(leader);
    await load.startServer('s1', cluster.url(ring(leader), query));
    const { client } = load.client(cluster.url(ring(leader), query), 2);
    const total = 2500;
    load.startCasting(client, total);
    load.startCalling(client);
    await waitFor(() => load.confirmed.size >= 500, 60_000, '500 confirmed casts before the kills');

    const killStartedAt = Date.now();
    await Promise.all([cluster.kill(first!), cluster.kill(second!)]);
    await sleep(sendTimeout * 1000 * 2);
    const failedDuringOutage = load.castFailures.length;
    const messages = load.castFailures.map((failure) => (failure.error as Error).message);
    await cluster.restart(first!);
    const majorityAt = Date.now();
    await load.castsDone();
    await waitFor(() => load.allConfirmedProcessed, 90_000, 'every confirmed cast processed');
    await waitFor(() => load.firstCallOkAfter(majorityAt) !== undefined, 60_000, 'a call succeeding with the majority back');
    await load.stopCalling();
    const recovery = await recovered(load, killStartedAt, 30_000);
    const afterMajority = load.recoverySince(majorityAt)!;
    await rejoin(second!, load.topic, leader);

    record(
      'cluster: two of three nodes killed (casts)',
      load,
      total,
      recovery,
      `send_timeout ${sendTimeout}s: ${load.castFailures.length} casts failed with "not confirmed" during the ${((majorityAt - killStartedAt) / 1000).toFixed(0)} s without quorum (recovery includes it); back ${afterMajority.toFixed(2)} s after the majority`,
    );
    expect(load.lost).toBe(0);
    expect(load.duplicated).toBe(0);
    // A publish fails only once its own send_timeout passed, never earlier.
    expect(Math.min(...load.castFailures.map((failure) => failure.elapsedMs))).toBeGreaterThanOrEqual(sendTimeout * 1000 - 50);
    expect(failedDuringOutage).toBeGreaterThan(0);
    expect(messages.some((message) => /not confirmed by the broker within 3s/.test(message))).toBe(true);
    expect(load.errorCodes().every((code) => ['TRANSPORT_ERROR', 'MESSAGING_TIMEOUT'].includes(code))).toBe(true);
    expect(load.confirmed.size + load.castFailures.length).toBe(total);
  }, 300_000);
});
