/**
 * A client's own send bound (`sendTimeout`): with the broker unreachable, a cast fails
 * with TransportError after it, not after the transport's long send_timeout, and the
 * transport still closes at once afterwards (no borrow left waiting). prepare() keeps it.
 */
import { describe, expect, it } from 'vitest';
import { RequestContext, RpcClient, TransportError, getTransport } from '../../src/rpc/index.js';
import { freePort } from '../support/scratch.js';

const SEND_TIMEOUT_SECONDS = 60;

describe('RpcClient sendTimeout', () => {
  it('bounds a cast to an unreachable broker by the client, and leaves nothing to wait for on close', { timeout: 2 * SEND_TIMEOUT_SECONDS * 1000 }, async () => {
    const port = await freePort();
    const transport = getTransport(`rabbit://guest:guest@127.0.0.1:${port}/?send_timeout=${SEND_TIMEOUT_SECONDS}&rabbit_retry_interval=0.2`);
    const client = new RpcClient(transport, { topic: 'bounded' }, { sendTimeout: 0.5 });
    const started = Date.now();
    // prepare() keeps the bound.
    const error = await client.prepare({ server: 'h1' }).cast(new RequestContext(), 'ping').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(new RegExp(`within 0\\.5s: .*127\\.0\\.0\\.1:${port}.*nothing listens`));
    const closing = Date.now();
    await transport.close();
    expect(Date.now() - started).toBeLessThan((SEND_TIMEOUT_SECONDS * 1000) / 4);
    expect(Date.now() - closing).toBeLessThan((SEND_TIMEOUT_SECONDS * 1000) / 8);
  });
});
