/**
 * The API process at the front door: with the message bus down it answers 503 after
 * `[api] bus_timeout`, not after the transport's long send_timeout; `noauth2` on a
 * non-loopback address is refused unless `allow_insecure_noauth`, and then it says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { resolveServiceConfig, type ServiceConfigInput } from '../../src/services/config.js';
import { launch, type Runtime } from '../../src/services/runtime.js';
import { freePort } from '../support/scratch.js';
import { IMAGE, LogSink, USER } from './support.js';

/** The transport's own bound, long on purpose: the API must not wait for it. */
const SEND_TIMEOUT_SECONDS = 60;

describe('the API at the front door', () => {
  const runtimes: Runtime[] = [];
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((runtime) => runtime.stop()));
  });

  const startApi = async (input: ServiceConfigInput, logs = new LogSink()) => {
    const config = resolveServiceConfig({ databaseConnection: 'sqlite://', autoMigrate: true, notificationDriver: 'noop', ...input, api: { port: 0, ...input.api } });
    const runtime = await launch({ config, services: ['api'], logger: createLogger({ level: 'info', destination: logs }) });
    runtimes.push(runtime);
    return runtime;
  };

  it('answers 503 within a fraction of send_timeout when the bus is down', { timeout: 2 * SEND_TIMEOUT_SECONDS * 1000 }, async () => {
    const closedPort = await freePort();
    const runtime = await startApi({
      transportUrl: `rabbit://guest:guest@127.0.0.1:${closedPort}/?send_timeout=${SEND_TIMEOUT_SECONDS}&rabbit_retry_interval=0.2`,
      api: { busTimeout: 1 },
    });
    const started = Date.now();
    const response = await fetch(`${runtime.apiUrl}/v2.1/servers`, {
      method: 'POST',
      headers: { 'x-auth-token': USER, 'content-type': 'application/json' },
      body: JSON.stringify({ server: { name: 'bus-down', imageRef: IMAGE, flavorRef: '1' } }),
    });
    const elapsedMs = Date.now() - started;
    expect(response.status).toBe(503);
    expect(elapsedMs).toBeLessThan((SEND_TIMEOUT_SECONDS * 1000) / 4);
    const listed = await fetch(`${runtime.apiUrl}/v2.1/servers/detail`, { headers: { 'x-auth-token': USER } });
    const [server] = ((await listed.json()) as { servers: Array<{ name: string; status: string }> }).servers;
    expect(server).toMatchObject({ name: 'bus-down', status: 'ERROR' });
  });

  it('refuses noauth2 on a non-loopback address', async () => {
    await expect(startApi({ api: { listen: '0.0.0.0' } })).rejects.toThrow(/noauth2.*allow_insecure_noauth/);
  });

  it('with allow_insecure_noauth = true it starts and warns that anyone can act as admin', async () => {
    const logs = new LogSink();
    await startApi({ api: { listen: '0.0.0.0', allowInsecureNoauth: true } }, logs);
    const warning = logs.lines.find((line) => String(line.msg).startsWith('INSECURE'));
    expect(warning?.msg).toMatch(/noauth2 on a non-loopback address.*admin/);
  });

  it('starts on loopback by default', async () => {
    const runtime = await startApi({});
    expect(runtime.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });
});
