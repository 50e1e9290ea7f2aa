/**
 * A Python oslo.messaging RPC client (py_rpc_client.py) talking to novarpc RpcServers:
 * two TS servers, host1 and host2, each on a transport of its own (two processes, as
 * far as the broker can tell), with oslo's stock declarations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestContext, RpcServer, type Endpoint } from '../../src/rpc/index.js';
import { waitFor } from '../support/harness.js';
import { InteropBus, JSON_VALUES, PeerGroup, PythonRpcClient, requirePythonPeers } from './peers.js';

const STOCK = { rabbit_quorum_queue: 'false' };

/** A TS error that asks to travel as Python's builtins.ValueError. */
class FlavorValueError extends Error {
  static wireClass = 'ValueError';
  static wireModule = 'builtins';
}

/** A TS error that travels as the Python peer's interop_errors.InteropError. */
class TsInteropError extends Error {
  static wireClass = 'InteropError';
  static wireModule = 'interop_errors';
  constructor(
    message: string,
    readonly kwargs: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** A TS error class no Python peer knows. */
class QuotaBlown extends Error {}

interface Seen {
  server: string;
  method: string;
  args: Record<string, unknown>;
  context: RequestContext;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An endpoint in a namespace, beside the default one (docs/wire-format.md §5.2). */
const baseApi: Endpoint = { target: { version: '1.1', namespace: 'baseapi' }, methods: { ping: () => 'pong' } };

function endpoint(server: string, seen: Seen[]): Endpoint {
  const note = (method: string) => (context: RequestContext, args: Record<string, unknown>) => {
    seen.push({ server, method, args, context });
  };
  return {
    target: { version: '1.3' },
    methods: {
      echo: (context, args) => (note('echo')(context, args), args.value),
      whoami: () => server,
      record: (context, args) => (note('record')(context, args), server),
      get_context: (context, args) => (note('get_context')(context, args), context.toDict()),
      raise_type_error: (_ctx, args) => {
        throw new TypeError(String(args.message));
      },
      raise_value_error: (_ctx, args) => {
        throw new FlavorValueError(String(args.message));
      },
      raise_unknown: (_ctx, args) => {
        throw new QuotaBlown(String(args.message));
      },
      raise_interop: (_ctx, args) => {
        throw new TsInteropError(String(args.message), { code: args.code ?? null });
      },
      classify: (_ctx, args) => Object.fromEntries(Object.entries(args).map(([key, value]) => [key, `${typeof value} ${String(value)}`])),
      sleep: async (context, args) => {
        note('sleep')(context, args);
        await sleep(Number(args.seconds) * 1000);
        return args.seconds;
      },
    },
  };
}

describe('Python oslo.messaging client → TypeScript RpcServer', () => {
  const peers = new PeerGroup();
  const seen: Seen[] = [];
  const servers: RpcServer[] = [];
  let bus: InteropBus;
  let topic: string;
  let python: PythonRpcClient;

  beforeAll(async () => {
    await requirePythonPeers();
    bus = await InteropBus.create();
    topic = bus.topic('compute');
    for (const name of ['host1', 'host2']) {
      const server = new RpcServer(bus.transport(STOCK), { topic, server: name }, [endpoint(name, seen), baseApi], { drainTimeout: 5 });
      await server.start();
      servers.push(server);
    }
    python = await PythonRpcClient.start(peers, [...bus.pythonArgs(), '--topic', topic, '--timeout', '15', '--workers', '4']);
  });

  afterAll(async () => {
    await peers.stopAll();
    await Promise.all(servers.map((server) => server.stop()));
    await bus?.cleanup();
  });

  const seenFor = (method: string, tag: string) => seen.filter((entry) => entry.method === method && String(entry.args.n).startsWith(tag));

  it('a call returns values of every JSON type unchanged', async () => {
    for (const value of JSON_VALUES) expect(await python.call('echo', { value }, { version: '1.3' })).toEqual(value);
  });

  it('a JS TypeError arrives in Python as builtins TypeError with its message', async () => {
    const reply = await python.run({ op: 'call', method: 'raise_type_error', args: { message: 'flavor must be a string' } });
    expect(reply).toMatchObject({ ok: false, exc_class: 'TypeError', exc_module: 'builtins' });
    expect(reply.message!.split('\n')[0]).toBe('flavor must be a string');
    expect(String(reply.args![0]).split('\n')[0]).toBe('flavor must be a string');
  });

  it("a TS class with wireClass 'ValueError', wireModule 'builtins' arrives as ValueError", async () => {
    const reply = await python.run({ op: 'call', method: 'raise_value_error', args: { message: 'bad ram' } });
    expect(reply).toMatchObject({ ok: false, exc_class: 'ValueError', exc_module: 'builtins' });
    expect(reply.message!.split('\n')[0]).toBe('bad ram');
  });

  it('wire-format §4.3: failure class is type(exc).__name__: an unknown TS error class (name not set) arrives as RemoteError with that exc_type', async () => {
    const reply = await python.run({ op: 'call', method: 'raise_unknown', args: { message: 'too many cores' } });
    expect(reply).toMatchObject({
      ok: false,
      exc_class: 'RemoteError',
      exc_module: 'oslo_messaging.rpc.client',
      exc_type: 'QuotaBlown',
      value: 'too many cores',
    });
  });

  it('a TS error naming an allowed Python module is rebuilt as that class with its kwargs', async () => {
    const reply = await python.run({
      op: 'call',
      method: 'raise_interop',
      args: { message: 'no room', code: 507 },
      allowed_exmods: ['interop_errors'],
    });
    expect(reply).toMatchObject({ ok: false, exc_class: 'InteropError_Remote', exc_module: 'interop_errors_Remote', kwargs: { code: 507 } });
    expect(reply.mro).toContain('interop_errors.InteropError');
    expect(reply.message!.split('\n')[0]).toBe('no room');
    // Without the allow-list, the same failure is a RemoteError.
    const plain = await python.run({ op: 'call', method: 'raise_interop', args: { message: 'no room', code: 507 } });
    expect(plain).toMatchObject({ ok: false, exc_class: 'RemoteError', exc_type: 'InteropError', value: 'no room' });
  });

  it('a cast from Python is handled once by one TS server', async () => {
    const tag = `cast-${bus.suffix}`;
    await python.cast('record', { n: tag });
    await waitFor(() => seenFor('record', tag).length >= 1, 10_000, 'the cast');
    await sleep(300);
    expect(seenFor('record', tag)).toHaveLength(1);
  });

  it('prepare(server=...) reaches only that TS server, for calls and casts', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => python.call('whoami', {}, { server: 'host2' })));
    expect(answers).toEqual(Array(6).fill('host2'));
    const tag = `directed-${bus.suffix}`;
    for (let i = 0; i < 6; i++) await python.cast('record', { n: `${tag}-${i}` }, { server: 'host1' });
    await waitFor(() => seenFor('record', tag).length >= 6, 10_000, '6 directed casts');
    await sleep(300);
    expect(seenFor('record', tag).map((entry) => entry.server)).toEqual(Array(6).fill('host1'));
  });

  it('prepare(fanout=True) reaches both TS servers', async () => {
    const tag = `fanout-${bus.suffix}`;
    await python.cast('record', { n: tag }, { fanout: true });
    await waitFor(() => seenFor('record', tag).length >= 2, 10_000, 'the fanout on both servers');
    await sleep(300);
    expect(seenFor('record', tag).map((entry) => entry.server).sort()).toEqual(['host1', 'host2']);
  });

  it('UnsupportedVersion and NoSuchMethod arrive as RemoteError with the exc_type and value oslo sends', async () => {
    expect(await python.call('echo', { value: 'ok' }, { version: '1.2' })).toBe('ok');
    for (const version of ['2.0', '1.4']) {
      const reply = await python.run({ op: 'call', method: 'echo', args: { value: 1 }, version });
      expect(reply).toMatchObject({
        ok: false,
        exc_class: 'RemoteError',
        exc_module: 'oslo_messaging.rpc.client',
        exc_type: 'UnsupportedVersion',
        value: `Endpoint does not support RPC version ${version}. Attempted method: echo`,
      });
    }
    const missing = await python.run({ op: 'call', method: 'no_such_method', version: '1.3' });
    expect(missing).toMatchObject({
      ok: false,
      exc_class: 'RemoteError',
      exc_type: 'NoSuchMethod',
      value: 'Endpoint does not support RPC method no_such_method',
    });
  });

  it('namespaces: a namespaced TS endpoint answers only requests in its namespace', async () => {
    expect(await python.call('ping', {}, { namespace: 'baseapi', version: '1.1' })).toBe('pong');
    const elsewhere = await python.run({ op: 'call', method: 'ping', namespace: 'otherapi', version: '1.0' });
    expect(elsewhere).toMatchObject({ ok: false, exc_type: 'UnsupportedVersion', value: 'Endpoint does not support RPC version 1.0. Attempted method: ping' });
    // The default (null) namespace does not have ping.
    const plain = await python.run({ op: 'call', method: 'ping', version: '1.0' });
    expect(plain).toMatchObject({ ok: false, exc_type: 'NoSuchMethod' });
  });

  it("wire-format §2.3: Python's NaN and Infinity tokens in arguments are tolerated", async () => {
    const reply = await python.runRaw((id) => `{"id": ${id}, "op": "call", "method": "classify", "args": {"a": NaN, "b": Infinity, "c": -Infinity, "d": 1.5}}`);
    expect(reply).toMatchObject({ ok: true, result: { a: 'number NaN', b: 'number Infinity', c: 'number -Infinity', d: 'number 1.5' } });
  });

  it('a TS handler sees the Python plain-dict context as RequestContext fields, unknown keys in extra', async () => {
    const sent = {
      request_id: 'req-6a1f2a52-8f0e-4c1e-a4b5-0a3f0e2d9c77',
      user: 'bob',
      project_id: 'project-b',
      roles: ['admin', 'member'],
      is_admin: true,
      auth_token: 'tok-123',
      read_deleted: 'yes',
      remote_address: '10.0.0.7',
      global_request_id: 'req-global-1',
      custom_key: { nested: [1, 2] },
      trace_info: 'x',
    };
    const tag = `ctx-${bus.suffix}`;
    const dict = (await python.call('get_context', { n: tag }, { context: sent })) as Record<string, unknown>;
    const context = seen.find((entry) => entry.method === 'get_context' && entry.args.n === tag)!.context;
    expect(context).toMatchObject({
      requestId: sent.request_id,
      userId: 'bob',
      projectId: 'project-b',
      roles: ['admin', 'member'],
      isAdmin: true,
      authToken: 'tok-123',
      readDeleted: 'yes',
      remoteAddress: '10.0.0.7',
      globalRequestId: 'req-global-1',
    });
    // client_timeout is the transport's, not the caller's: it is not kept.
    expect(context.extra).toEqual({ custom_key: { nested: [1, 2] }, trace_info: 'x' });
    // Sent back, the dict keeps every key the Python caller gave.
    expect(dict).toMatchObject(sent);
  });

  it('a TS handler slower than the Python timeout succeeds with call_monitor_timeout (TS heartbeats)', async () => {
    // Heartbeats every 2 s against a 4 s window: 2 s of slack for a loaded machine.
    const [plain, monitored] = await Promise.all([
      python.run({ op: 'call', method: 'sleep', args: { seconds: 6 }, timeout: 4 }),
      python.run({ op: 'call', method: 'sleep', args: { seconds: 6 }, timeout: 30, call_monitor_timeout: 4 }),
    ]);
    expect(plain).toMatchObject({ ok: false, exc_class: 'MessagingTimeout', exc_module: 'oslo_messaging.exceptions' });
    expect(monitored).toMatchObject({ ok: true, result: 6 });
    expect(monitored.elapsed).toBeGreaterThanOrEqual(5.9);
  }, 30_000);

  it('a Python call to a topic nobody serves raises MessagingTimeout', async () => {
    const reply = await python.run({ op: 'call', method: 'echo', args: { value: 1 }, topic: `nobody_${bus.suffix}`, timeout: 1 });
    expect(reply).toMatchObject({ ok: false, exc_class: 'MessagingTimeout' });
    expect(reply.message).toMatch(/^Timed out waiting for a reply to message ID [0-9a-f]{32}$/);
  });
});
