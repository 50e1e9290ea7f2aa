/**
 * A novarpc RpcClient talking to Python oslo.messaging RPC servers (py_rpc_server.py,
 * Target version 1.3) on a nova-like exchange, topic `compute_<x>`, servers host1 and
 * host2. The TS side uses oslo's stock declarations (rabbit_quorum_queue=false), as a
 * peer of a stock deployment must.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MessagingTimeout,
  NoSuchMethod,
  RemoteBuiltinError,
  RemoteError,
  RequestContext,
  RpcClient,
  UnsupportedVersion,
  type Transport,
} from '../../src/rpc/index.js';
import { waitFor } from '../support/harness.js';
import { InteropBus, JSON_VALUES, PeerGroup, PythonPeer, requirePythonPeers, type PeerLine } from './peers.js';

/** The Python peer's interop_errors.InteropError, allow-listed on the TS side. */
class InteropError extends Error {
  static wireClass = 'InteropError';
  static wireModule = 'interop_errors';
  override name = 'InteropError';
}

const STOCK = { rabbit_quorum_queue: 'false' };

describe('TypeScript client → Python oslo.messaging server', () => {
  const peers = new PeerGroup();
  let bus: InteropBus;
  let topic: string;
  let host1: PythonPeer;
  let host2: PythonPeer;
  let transport: Transport;
  let client: RpcClient;
  const context = new RequestContext({
    requestId: 'req-1b9c0e7e-0d43-4a36-9b51-7d2f1c2b9a11',
    userId: 'alice',
    projectId: 'project-a',
    roles: ['member', 'reader'],
    isAdmin: true,
  });

  beforeAll(async () => {
    await requirePythonPeers();
    bus = await InteropBus.create();
    topic = bus.topic('compute');
    const serverArgs = (server: string) => [...bus.pythonArgs(), '--topic', topic, '--server', server, '--version', '1.3'];
    [host1, host2] = await Promise.all([
      PythonPeer.start(peers, 'py_rpc_server.py', serverArgs('host1')),
      PythonPeer.start(peers, 'py_rpc_server.py', serverArgs('host2')),
    ]);
    transport = bus.transport(STOCK);
    client = new RpcClient(transport, { topic, version: '1.3' }, { timeout: 15 });
  });

  afterAll(async () => {
    await peers.stopAll();
    await bus?.cleanup();
  });

  /** `handled` lines of both servers for `method` whose args match `tag`. */
  function handledWithTag(method: string, tag: string): PeerLine[] {
    return [...host1.handled(method), ...host2.handled(method)].filter((line) => String((line.args as { n?: unknown }).n).startsWith(tag));
  }

  it('a call returns values of every JSON type unchanged', async () => {
    for (const value of JSON_VALUES) expect(await client.call(context, 'echo', { value })).toEqual(value);
    expect(await client.call(context, 'add', { a: 2, b: 40 })).toBe(42);
    expect(await client.call(context, 'echo_args', { a: 'x', b: [1, 2], c: { d: null } })).toEqual({ a: 'x', b: [1, 2], c: { d: null } });
  });

  it("wire-format §2.3: Python's Infinity and -Infinity tokens in a result are tolerated", async () => {
    expect(await client.call(context, 'add', { a: 1e308, b: 1e308 })).toBe(Infinity);
    expect(await client.call(context, 'add', { a: -1e308, b: -1e308 })).toBe(-Infinity);
  });

  it('a Python built-in exception is rebuilt with the same class name and message', async () => {
    const error = await client.call(context, 'raise_builtin', { message: 'bad flavor' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteBuiltinError);
    const builtin = error as RemoteBuiltinError;
    expect(builtin.name).toBe('ValueError');
    expect(builtin.message).toBe('bad flavor');
    expect(builtin.excType).toBe('ValueError');
    expect(builtin.excModule).toBe('builtins');
    expect(builtin.remoteArgs).toEqual(['bad flavor']);
    expect(builtin.traceback.join('')).toMatch(/ValueError: bad flavor/);
  });

  it('a custom Python exception arrives as RemoteError with exc_type, value and kwargs', async () => {
    const error = await client.call(context, 'raise_custom', { message: 'quota gone', code: 413 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).not.toBeInstanceOf(RemoteBuiltinError);
    const remote = error as RemoteError;
    expect(remote.excType).toBe('InteropError');
    expect(remote.excModule).toBe('interop_errors');
    expect(remote.value).toBe('quota gone');
    expect(remote.message).toBe('Remote error: InteropError quota gone');
    expect(remote.remoteKwargs).toEqual({ code: 413 });
    expect(remote.traceback.join('')).toMatch(/InteropError: quota gone/);
  });

  it('a custom Python exception is rebuilt as the class itself when the transport allow-lists it', async () => {
    const allowing = bus.transport(STOCK, { allowedRemoteErrors: [InteropError] });
    const error = await new RpcClient(allowing, { topic, version: '1.3' }, { timeout: 15 })
      .call(context, 'raise_custom', { message: 'quota gone', code: 413 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InteropError);
    expect((error as InteropError).message).toBe('quota gone');
    expect((error as { remoteKwargs?: unknown }).remoteKwargs).toEqual({ code: 413 });
  });

  it('a cast is handled by exactly one Python server', async () => {
    const tag = `cast-${bus.suffix}`;
    await client.cast(context, 'echo_args', { n: tag });
    await waitFor(() => handledWithTag('echo_args', tag).length >= 1, 10_000, 'the cast');
    await sleep(300);
    expect(handledWithTag('echo_args', tag)).toHaveLength(1);
  });

  it('a cast to compute.host1 reaches host1 only', async () => {
    const tag = `directed-${bus.suffix}`;
    const directed = client.prepare({ server: 'host1' });
    for (let i = 0; i < 6; i++) await directed.cast(context, 'echo_args', { n: `${tag}-${i}` });
    await waitFor(() => handledWithTag('echo_args', tag).length >= 6, 10_000, '6 directed casts');
    await sleep(300);
    const lines = handledWithTag('echo_args', tag);
    expect(lines).toHaveLength(6);
    expect(lines.every((line) => line.server === 'host1')).toBe(true);
    expect(await directed.call(context, 'get_context')).toMatchObject({ user: 'alice' });
  });

  it('a fanout cast reaches both Python servers', async () => {
    const tag = `fanout-${bus.suffix}`;
    await client.prepare({ fanout: true }).cast(context, 'echo_args', { n: tag });
    await waitFor(() => handledWithTag('echo_args', tag).length >= 2, 10_000, 'the fanout on both servers');
    await sleep(300);
    expect(handledWithTag('echo_args', tag).map((line) => line.server).sort()).toEqual(['host1', 'host2']);
  });

  it('version negotiation: a 1.3 server serves 1.0–1.3 and refuses 1.4 and 2.0 with UnsupportedVersion', async () => {
    for (const version of ['1.0', '1.2', '1.3']) expect(await client.prepare({ version }).call(context, 'echo', { value: version })).toBe(version);
    for (const version of ['2.0', '1.4']) {
      const error = await client.prepare({ version }).call(context, 'echo', { value: 1 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnsupportedVersion);
      expect((error as UnsupportedVersion).version).toBe(version);
      expect((error as UnsupportedVersion).method).toBe('echo');
      expect((error as Error).message).toBe(`Endpoint does not support RPC version ${version}. Attempted method: echo`);
    }
    const missing = await client.call(context, 'no_such_method').catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(NoSuchMethod);
    expect((missing as Error).message).toBe('Endpoint does not support RPC method no_such_method');
  });

  it('the Python endpoint sees the context: request_id, user, project_id, roles, is_admin', async () => {
    const seen = (await client.call(context, 'get_context')) as Record<string, unknown>;
    expect(seen).toMatchObject({
      request_id: context.requestId,
      user: 'alice',
      user_id: 'alice',
      project_id: 'project-a',
      tenant: 'project-a',
      roles: ['member', 'reader'],
      is_admin: true,
      client_timeout: null,
    });
    expect(seen).not.toHaveProperty('auth_token');
    const line = [...host1.handled('get_context'), ...host2.handled('get_context')].find(
      (entry) => (entry.ctxt as Record<string, unknown>).request_id === context.requestId,
    );
    expect(line?.ctxt).toEqual(seen);
  });

  it('a long call is kept alive by call-monitor heartbeats past the plain timeout', async () => {
    const started = Date.now();
    // Both at once: without monitoring a 4 s timeout fails; with call_monitor_timeout=4
    // the server heartbeats every 2 s and the call outlives the 4 s window (2 s of slack
    // for a heartbeat held up on a loaded machine).
    const [plain, monitored] = await Promise.all([
      client.prepare({ timeout: 4 }).call(context, 'sleep', { seconds: 6 }).catch((caught: unknown) => caught),
      client.prepare({ timeout: 30, callMonitorTimeout: 4 }).call(context, 'sleep', { seconds: 6 }),
    ]);
    expect(plain).toBeInstanceOf(MessagingTimeout);
    expect(monitored).toBe(6);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5900);
    const seen = [...host1.handled('sleep'), ...host2.handled('sleep')].map((line) => (line.ctxt as Record<string, unknown>).client_timeout);
    expect(seen).toContain(4);
  }, 30_000);

  it('a call to a topic nobody serves times out cleanly with MessagingTimeout', async () => {
    const nobody = new RpcClient(transport, { topic: `nobody_${bus.suffix}`, version: '1.3' }, { timeout: 1 });
    const started = Date.now();
    const error = await nobody.call(context, 'echo', { value: 1 }).catch((caught: unknown) => caught);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(MessagingTimeout);
    expect((error as Error).message).toMatch(/^Timed out waiting for a reply to message ID [0-9a-f]{32}/);
    // Its own 1 s timeout, not the transport's 60 s default (a loose bound: the machine may be loaded).
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan((transport.options.rpc_response_timeout * 1000) / 3);
    // The transport is still usable afterwards.
    expect(await client.call(context, 'echo', { value: 'still here' })).toBe('still here');
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

