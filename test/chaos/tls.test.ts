/**
 * TLS to the broker: a private RabbitMQ node with a TLS listener on a self-signed
 * certificate. Validation against the CA file works; without the CA it is refused
 * unless validation is off, as oslo's options say.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTransport, RequestContext, RpcClient, RpcServer, TransportError, type Transport } from '../../src/rpc/index.js';
import { ChaosBroker } from '../support/chaos-broker.js';

describe('TLS to the broker', () => {
  let broker: ChaosBroker;
  const transports: Transport[] = [];
  const context = new RequestContext({ userId: 'u', projectId: 'p' });

  beforeAll(async () => {
    broker = await ChaosBroker.start({ port: 5674, tlsPort: 5675 });
  }, 90_000);

  afterAll(async () => {
    await Promise.all(transports.map((transport) => transport.close().catch(() => {})));
    await broker?.destroy();
  }, 60_000);

  function transport(url: string): Transport {
    const created = getTransport(url);
    transports.push(created);
    return created;
  }

  it('a call over TLS with the CA file verified end to end', async () => {
    const url = `rabbits://guest:guest@127.0.0.1:5675/?ssl_ca_file=${encodeURIComponent(broker.tls!.caFile)}&send_timeout=10`;
    const server = new RpcServer(transport(url), { topic: 'tls', server: 's1' }, [{ methods: { ping: () => 'pong over tls' } }]);
    await server.start();
    expect(await new RpcClient(transport(url), { topic: 'tls' }, { timeout: 10 }).call(context, 'ping')).toBe('pong over tls');
    await server.stop();
  });

  it('ssl=true works with the plain scheme, and a wrong CA is refused with a clear error', async () => {
    const plain = `rabbit://guest:guest@127.0.0.1:5675/?ssl=true&send_timeout=10`;
    await new RpcClient(transport(plain), { topic: 'tls' }).cast(context, 'noop');
    const wrongCa = `rabbits://guest:guest@127.0.0.1:5675/?ssl_ca_file=${encodeURIComponent('/etc/ssl/certs/ca-certificates.crt')}&send_timeout=2`;
    const error = await new RpcClient(transport(wrongCa), { topic: 'tls' }).cast(context, 'noop').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/127\.0\.0\.1:5675.*(certificate|self.signed)/i);
  });
});
