/**
 * Host order after a lost connection: the connection moves on to the next host in the
 * list first, instead of retrying the one that just went away. Each "host" is a TCP
 * relay to the real broker that counts the connections it accepted, so the test sees
 * which host every (re)connection went to; dropping a relay's sockets is the lost node.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { BrokerConnection } from '../../src/rpc/drivers/amqp/connection.js';
import { resolveOptions } from '../../src/rpc/transport-options.js';
import { parseTransportUrl, type BrokerHost } from '../../src/rpc/transport-url.js';
import { waitFor } from '../support/harness.js';
import { brokerUrl } from '../support/services.js';

/** A TCP relay to the broker that counts accepted connections and can drop them all. */
class Relay {
  accepted = 0;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: BrokerHost): Promise<Relay> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const relay = new Relay(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => relay.pipe(client, target));
    return relay;
  }

  /** Drops every relayed connection, as a node dying would. */
  dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private pipe(client: Socket, target: BrokerHost): void {
    this.accepted += 1;
    const upstream = createConnection({ host: target.hostname, port: target.port });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }
}

describe('failover order after a lost connection', () => {
  const relays: Relay[] = [];
  const connections: BrokerConnection[] = [];

  afterEach(async () => {
    await Promise.all(connections.splice(0).map((connection) => connection.close()));
    await Promise.all(relays.splice(0).map((relay) => relay.close()));
  });

  async function setUp(count: number, strategy: 'round-robin' | 'shuffle') {
    const parsed = parseTransportUrl(await brokerUrl());
    const target = parsed.hosts[0]!;
    for (let i = 0; i < count; i++) relays.push(await Relay.start(target));
    const hosts = relays.map((relay) => ({ ...target, hostname: '127.0.0.1', port: relay.port }));
    // A long retry interval: a retry of the lost host first would show as a stall.
    const options = resolveOptions({ kombu_failover_strategy: strategy, kombu_reconnect_delay: 0.05, rabbit_retry_interval: 30 });
    const connection = new BrokerConnection({ hosts, virtualHost: parsed.virtualHost, tls: false, options, logger: silentLogger(), purpose: 'failover-test' });
    connections.push(connection);
    return connection;
  }

  const relayOf = (connection: BrokerConnection) => relays.findIndex((relay) => relay.port === connection.currentHost?.port);

  it('round-robin: goes to the next host in the list, the lost one last', async () => {
    const connection = await setUp(3, 'round-robin');
    await connection.connect();
    const visited = [relayOf(connection)];
    for (let loss = 0; loss < 3; loss++) {
      const before = visited.at(-1)!;
      relays[before]!.dropAll();
      await waitFor(() => connection.current !== undefined && relayOf(connection) !== before, 10_000, 'reconnected to another host');
      visited.push(relayOf(connection));
    }
    expect(visited).toEqual([0, 1, 2, 0]);
    // One accepted connection per visit: the lost host was never tried again first.
    expect(relays.map((relay) => relay.accepted)).toEqual([2, 1, 1]);
  });

  it('shuffle: after a loss the next host of the shuffled order is tried first', async () => {
    const connection = await setUp(2, 'shuffle');
    await connection.connect();
    const first = relayOf(connection);
    relays[first]!.dropAll();
    await waitFor(() => connection.current !== undefined && relayOf(connection) !== first, 10_000, 'reconnected to the other host');
    expect(relays[first]!.accepted).toBe(1);
    expect(relays[1 - first]!.accepted).toBe(1);
  });

  it('a single host is retried (it is the only one)', async () => {
    const connection = await setUp(1, 'round-robin');
    await connection.connect();
    relays[0]!.dropAll();
    await waitFor(() => relays[0]!.accepted === 2 && connection.current !== undefined, 10_000, 'reconnected to the only host');
  });
});
