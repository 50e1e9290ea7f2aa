/**
 * Contracts: one declaration gives a validating endpoint and a typed client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  buildEndpoint,
  createContractClient,
  defineContract,
  type ContractHandlers,
} from '../../src/rpc/contract.js';
import { waitFor } from '../support/harness.js';
import {
  getTransport,
  InvalidArguments,
  MemoryBus,
  NoSuchMethod,
  RequestContext,
  RpcClient,
  RpcServer,
  VersionCapError,
  type Transport,
} from '../../src/rpc/index.js';

const network = defineContract({
  topic: 'network',
  version: '1.2',
  methods: {
    allocate_for_instance: {
      kind: 'call',
      since: '1.0',
      args: z.strictObject({ instance_id: z.string().min(1), host: z.string().default('any') }),
      returns: z.object({ address: z.string(), host: z.string() }),
    },
    deallocate_for_instance: { kind: 'cast', since: '1.1', args: z.strictObject({ instance_id: z.string() }) },
    refresh: { kind: 'fanout', since: '1.2', args: z.strictObject({}) },
  },
});

describe('RPC contracts', () => {
  const transports: Transport[] = [];
  const servers: RpcServer[] = [];
  const context = new RequestContext({ userId: 'u', projectId: 'p' });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await Promise.all(transports.splice(0).map((transport) => transport.close()));
  });

  async function start(handlers: ContractHandlers<typeof network.methods>, hosts = ['h1']) {
    const bus = new MemoryBus();
    const open = () => {
      const transport = getTransport('memory://', { bus });
      transports.push(transport);
      return transport;
    };
    for (const host of hosts) {
      const server = new RpcServer(open(), { topic: 'network', server: host }, [buildEndpoint(network, handlers)], { drainTimeout: 1 });
      await server.start();
      servers.push(server);
    }
    return open();
  }

  function recordingHandlers(seen: Array<{ method: string; args: unknown; requestId: string }>) {
    return {
      allocate_for_instance: (ctx: RequestContext, args: { instance_id: string; host: string }) => {
        seen.push({ method: 'allocate', args, requestId: ctx.requestId });
        return { address: '10.0.0.2', host: args.host };
      },
      deallocate_for_instance: (ctx: RequestContext, args: { instance_id: string }) => {
        seen.push({ method: 'deallocate', args, requestId: ctx.requestId });
      },
      refresh: (ctx: RequestContext) => {
        seen.push({ method: 'refresh', args: {}, requestId: ctx.requestId });
      },
    } satisfies ContractHandlers<typeof network.methods>;
  }

  it('a typed call reaches its handler with parsed arguments and returns its result', async () => {
    const seen: Array<{ method: string; args: unknown; requestId: string }> = [];
    const client = createContractClient(network, await start(recordingHandlers(seen)));
    const result = await client.allocate_for_instance(context, { instance_id: 'i-1' });
    expect(result).toEqual({ address: '10.0.0.2', host: 'any' });
    expect(seen).toEqual([{ method: 'allocate', args: { instance_id: 'i-1', host: 'any' }, requestId: context.requestId }]);
  });

  it('a wrong argument is InvalidArguments for the caller, naming the field, and the handler never runs', async () => {
    const seen: Array<{ method: string; args: unknown; requestId: string }> = [];
    const transport = await start(recordingHandlers(seen));
    const raw = new RpcClient(transport, { topic: 'network', version: '1.0' });
    const wrongType = raw.call(context, 'allocate_for_instance', { instance_id: 42 });
    await expect(wrongType).rejects.toThrow(/instance_id/);
    await expect(raw.call(context, 'allocate_for_instance', { instance_id: 'x', colour: 'red' })).rejects.toThrow(/colour/);
    await expect(raw.call(context, 'allocate_for_instance', {})).rejects.toBeInstanceOf(InvalidArguments);
    expect(seen).toEqual([]);
  });

  it('the caller rebuilds InvalidArguments as itself when it allows the class', async () => {
    const bus = new MemoryBus();
    const serverTransport = getTransport('memory://', { bus });
    const clientTransport = getTransport('memory://', { bus, allowedRemoteErrors: [InvalidArguments] });
    transports.push(serverTransport, clientTransport);
    const server = new RpcServer(serverTransport, { topic: 'network', server: 'h' }, [buildEndpoint(network, recordingHandlers([]))]);
    await server.start();
    servers.push(server);
    const raw = new RpcClient(clientTransport, { topic: 'network', version: '1.0' });
    await expect(raw.call(context, 'allocate_for_instance', { instance_id: 7 })).rejects.toBeInstanceOf(InvalidArguments);
  });

  it('methods not in the contract are not callable', async () => {
    const transport = await start(recordingHandlers([]));
    const raw = new RpcClient(transport, { topic: 'network', version: '1.0' });
    await expect(raw.call(context, 'constructor', {})).rejects.toBeInstanceOf(NoSuchMethod);
  });

  it('a cast is delivered once; a fanout cast reaches every server', async () => {
    const seen: Array<{ method: string; args: unknown; requestId: string }> = [];
    const client = createContractClient(network, await start(recordingHandlers(seen), ['h1', 'h2']));
    await client.deallocate_for_instance(context, { instance_id: 'i-2' });
    await client.refresh(context, {});
    await waitFor(() => seen.length >= 3, undefined, 'three casts handled');
    expect(seen.filter((entry) => entry.method === 'deallocate')).toHaveLength(1);
    expect(seen.filter((entry) => entry.method === 'refresh')).toHaveLength(2);
  });

  it('each request carries its method\'s version, so a version cap refuses newer methods locally', async () => {
    const client = createContractClient(network, await start(recordingHandlers([])), { versionCap: '1.0' });
    await expect(client.allocate_for_instance(context, { instance_id: 'i' })).resolves.toBeTruthy();
    await expect(client.deallocate_for_instance(context, { instance_id: 'i' })).rejects.toBeInstanceOf(VersionCapError);
  });

  it('prepare() sends to one server', async () => {
    const seen: Array<{ method: string; args: unknown; requestId: string }> = [];
    const client = createContractClient(network, await start(recordingHandlers(seen), ['h1', 'h2']));
    const result = await client.prepare({ server: 'h2' }).allocate_for_instance(context, { instance_id: 'i', host: 'h2' });
    expect(result.host).toBe('h2');
  });

  it('a contract refuses a method newer than itself, and a handler missing at run time', () => {
    expect(() =>
      defineContract({ topic: 't', version: '1.0', methods: { m: { kind: 'cast', since: '1.1', args: z.object({}) } } }),
    ).toThrow(/since 1.1/);
    expect(() => buildEndpoint(network, {} as never)).toThrow(/no handler/);
  });
});
