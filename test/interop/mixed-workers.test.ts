/**
 * One Python and one TypeScript RPC server consume the same topic queue. That only works
 * when both declare the exchange and the queues with the same flags
 * (docs/wire-format.md §1.2, §1.3): RabbitMQ refuses a mismatched redeclare with 406.
 * Run with oslo's stock options and with rabbit_quorum_queue=true on both sides.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RequestContext, RpcClient, RpcServer } from '../../src/rpc/index.js';
import { waitFor } from '../support/harness.js';
import { InteropBus, PeerGroup, PythonPeer, PythonRpcClient, requirePythonPeers } from './peers.js';

const CASTS = 200;

const variants = [
  {
    name: "oslo's stock options (rabbit_quorum_queue=false), Python server declares first",
    python: {} as Record<string, string>,
    ts: { rabbit_quorum_queue: 'false' } as Record<string, string>,
    pythonFirst: true,
  },
  {
    name: 'rabbit_quorum_queue=true on both sides, TS server declares first',
    python: { rabbit_quorum_queue: 'true' },
    ts: {} as Record<string, string>,
    pythonFirst: false,
  },
];

describe('mixed Python and TypeScript workers on one topic', () => {
  beforeAll(async () => {
    await requirePythonPeers();
  });

  const peers = new PeerGroup();
  const servers: RpcServer[] = [];
  let bus: InteropBus | undefined;

  afterEach(async () => {
    await peers.stopAll();
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await bus?.cleanup();
    bus = undefined;
  });

  for (const variant of variants) {
    it(`${CASTS} casts are each processed exactly once between them: ${variant.name}`, async () => {
      bus = await InteropBus.create();
      const topic = bus.topic('compute', ['pyhost', 'tshost']);
      const tsHandled: number[] = [];
      const tsServer = new RpcServer(
        bus.transport(variant.ts),
        { topic, server: 'tshost' },
        [{ target: { version: '1.3' }, methods: { record: (_ctx, args) => void tsHandled.push(Number(args.n)) } }],
        { drainTimeout: 5 },
      );
      const startPython = () => PythonPeer.start(peers, 'py_rpc_server.py', [...bus!.pythonArgs(variant.python), '--topic', topic, '--server', 'pyhost']);
      let pyServer: PythonPeer;
      if (variant.pythonFirst) {
        pyServer = await startPython();
        await tsServer.start();
      } else {
        await tsServer.start();
        pyServer = await startPython();
      }
      servers.push(tsServer);

      // Half the casts from a TS client, half from a Python client: both publishers
      // declare the control exchange too, and must agree with the servers.
      const pyClient = await PythonRpcClient.start(peers, [...bus.pythonArgs(variant.python), '--topic', topic]);
      const tsClient = new RpcClient(bus.transport(variant.ts), { topic, version: '1.3' });
      const context = new RequestContext({ userId: 'mixer', projectId: 'p' });
      const half = CASTS / 2;
      await Promise.all([
        (async () => {
          for (let n = 0; n < half; n++) await tsClient.cast(context, 'record', { n });
        })(),
        (async () => {
          for (let n = half; n < CASTS; n++) await pyClient.cast('record', { n }, { version: '1.3' });
        })(),
      ]);

      const pyHandled = () => pyServer.handled('record').map((line) => Number(line.n));
      await waitFor(() => pyHandled().length + tsHandled.length >= CASTS, 20_000, `${CASTS} casts handled`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const all = [...pyHandled(), ...tsHandled].sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: CASTS }, (_, n) => n));
      expect(pyHandled().length).toBeGreaterThan(0);
      expect(tsHandled.length).toBeGreaterThan(0);
    }, 180_000); // starts a Python worker: slow to import on a loaded machine
  }
});
