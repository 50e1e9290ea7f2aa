/**
 * The oslo.messaging 14.7+ options on the novarpc side, next to Debian's Python
 * oslo.messaging 14.0 (which has none of them). Both sides use rabbit_quorum_queue=true
 * so the shared topic queues agree. What can be shared:
 * - use_queue_manager, direct_mandatory_flag, heartbeat_rate change no shared entity: a
 *   novarpc server and a Python server share a topic, and clients on either side call both.
 * - rabbit_transient_quorum_queue and rabbit_stream_fanout make the `<topic>_fanout`
 *   exchange durable, which 14.0 declares non-durable: RabbitMQ refuses the second
 *   declaration (406), so a novarpc server and a Python server cannot serve one topic.
 *   A novarpc client still calls and casts to a Python server (its reply queue is its own).
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RequestContext, RpcClient, RpcServer, TransportError } from '../../src/rpc/index.js';
import { waitFor } from '../support/harness.js';
import { InteropBus, PeerGroup, PythonPeer, PythonRpcClient, requirePythonPeers } from './peers.js';

const QUORUM = { rabbit_quorum_queue: 'true' };
const context = new RequestContext({ userId: 'layouts', projectId: 'p' });

const SHAREABLE = { use_queue_manager: 'true', direct_mandatory_flag: 'false', heartbeat_rate: '2' };
const DURABLE_FANOUT: Array<{ name: string; options: Record<string, string> }> = [
  { name: 'rabbit_transient_quorum_queue', options: { rabbit_transient_quorum_queue: 'true' } },
  {
    name: 'rabbit_stream_fanout',
    options: { rabbit_stream_fanout: 'true', rabbit_transient_quorum_queue: 'true', rabbit_qos_prefetch_count: '10' },
  },
];

describe('novarpc with oslo 14.7+ options next to Python oslo.messaging 14.0', () => {
  const peers = new PeerGroup();
  const servers: RpcServer[] = [];
  let bus: InteropBus | undefined;

  beforeAll(async () => {
    await requirePythonPeers();
  });

  afterEach(async () => {
    await peers.stopAll();
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    if (bus) for (const file of readdirSync('/dev/shm')) if (file.includes(bus.suffix)) rmSync(join('/dev/shm', file), { force: true });
    await bus?.cleanup();
    bus = undefined;
  });

  it('use_queue_manager + direct_mandatory_flag=false + heartbeat_rate: servers share casts, calls go both ways', async () => {
    bus = await InteropBus.create();
    const topic = bus.topic('compute', ['pyhost', 'tshost']);
    const tsHandled: number[] = [];
    const tsServer = new RpcServer(bus.transport({ ...QUORUM, ...SHAREABLE, hostname: `h${bus.suffix}` }), { topic, server: 'tshost' }, [
      { target: { version: '1.3' }, methods: { record: (_c, args) => void tsHandled.push(Number(args.n)), echo: (_c, args) => args.value } },
    ]);
    await tsServer.start();
    servers.push(tsServer);
    const pyServer = await PythonPeer.start(peers, 'py_rpc_server.py', [...bus.pythonArgs(QUORUM), '--topic', topic, '--server', 'pyhost']);
    const tsClient = new RpcClient(bus.transport({ ...QUORUM, ...SHAREABLE, hostname: `h${bus.suffix}` }), { topic, version: '1.3' }, { timeout: 20 });
    for (let n = 0; n < 40; n++) await tsClient.cast(context, 'record', { n });
    const pyHandled = () => pyServer.handled('record').map((line) => Number(line.n));
    await waitFor(() => pyHandled().length + tsHandled.length >= 40, 20_000, '40 casts handled');
    expect([...pyHandled(), ...tsHandled].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, n) => n));
    expect(pyHandled().length).toBeGreaterThan(0);
    expect(tsHandled.length).toBeGreaterThan(0);
    // Calls: TS client → Python server, Python client → TS server.
    expect(await tsClient.prepare({ server: 'pyhost' }).call(context, 'echo', { value: 'to python' })).toBe('to python');
    const pyClient = await PythonRpcClient.start(peers, [...bus.pythonArgs(QUORUM), '--topic', topic]);
    expect(await pyClient.call('echo', { value: 'to novarpc' }, { server: 'tshost', version: '1.3' })).toBe('to novarpc');
  }, 90_000);

  for (const variant of DURABLE_FANOUT) {
    it(`${variant.name}: a novarpc client calls and casts a Python server; a novarpc server cannot join its topic (durable fanout exchange)`, async () => {
      bus = await InteropBus.create();
      const topic = bus.topic('compute', ['pyhost', 'tshost']);
      const pyServer = await PythonPeer.start(peers, 'py_rpc_server.py', [...bus.pythonArgs(QUORUM), '--topic', topic, '--server', 'pyhost']);
      const tsClient = new RpcClient(bus.transport({ ...QUORUM, ...variant.options }), { topic, version: '1.3' }, { timeout: 20 });
      expect(await tsClient.call(context, 'echo', { value: variant.name })).toBe(variant.name);
      await tsClient.cast(context, 'record', { n: 7 });
      await waitFor(() => pyServer.handled('record').length === 1, 10_000, 'the cast on the Python server');

      const tsServer = new RpcServer(bus.transport({ ...QUORUM, ...variant.options }), { topic, server: 'tshost' }, [{ methods: {} }]);
      const refused = await tsServer.start().then(
        () => undefined,
        (error: unknown) => error,
      );
      if (refused === undefined) servers.push(tsServer);
      expect(refused).toBeInstanceOf(TransportError);
      expect((refused as Error).message).toMatch(new RegExp(`inequivalent arg 'durable' for exchange '${topic}_fanout'`));
    }, 90_000);
  }
});
