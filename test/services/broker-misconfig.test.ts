/**
 * A worker pointed at a misconfigured broker (wrong password, unknown virtual host,
 * closed port) says what is wrong in one line per retry, never shows a password (not
 * even the second host's of a failover list), and stops cleanly on SIGTERM while it is
 * still waiting (exit 0 with a log line). Uses the shared broker only to be refused by it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { brokerUrl } from '../support/services.js';
import { freePort, startWorker, suffix, type Worker } from './processes.js';
import type { LogLine } from './support.js';

/** Retry interval given to the workers; every wait below is a large multiple of it. */
const RETRY_SECONDS = 0.5;
const STARTUP_BOUND_MS = 60_000;

describe('a worker on a misconfigured broker', () => {
  const workers: Worker[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
  });

  const start = (transportUrl: string) => {
    const worker = startWorker('scheduler', ['scheduler', '--host', `misconfig-${suffix()}`, '--transport-url', transportUrl, '--database-connection', 'sqlite://', '--database-auto-migrate', 'true'], {});
    workers.push(worker);
    return worker;
  };

  /** The broker URL of the shared broker with other credentials or virtual host. */
  const variant = async (change: (url: URL) => void) => {
    const url = new URL((await brokerUrl()).replace(/^rabbit:/, 'http:'));
    change(url);
    url.search = `?rabbit_retry_interval=${RETRY_SECONDS}&rabbit_retry_backoff=0&rabbit_interval_max=${RETRY_SECONDS}`;
    return url.toString().replace(/^http:/, 'rabbit:');
  };

  const retryWarnings = async (worker: Worker, count: number): Promise<LogLine[]> => {
    const deadline = Date.now() + STARTUP_BOUND_MS;
    for (;;) {
      const warnings = worker.lines.filter((line) => String(line.msg).startsWith('cannot connect to the broker'));
      if (warnings.length >= count) return warnings;
      if (Date.now() > deadline || worker.process.exitCode !== null) {
        throw new Error(`no ${count} connection warnings; stdout: ${JSON.stringify(worker.lines)} stderr: ${worker.stderr.join('')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const expectCleanStop = async (worker: Worker) => {
    const code = await worker.stop('SIGTERM');
    expect(code).toBe(0);
    expect(worker.lines.map((line) => line.msg)).toContain('stopped before start-up finished (still waiting for the broker or the database)');
  };

  it('a wrong password is named ACCESS_REFUSED, in one line, and SIGTERM stops it cleanly', { timeout: 3 * STARTUP_BOUND_MS }, async () => {
    const worker = start(await variant((url) => (url.password = 'not-the-password-42')));
    const warnings = await retryWarnings(worker, 2);
    for (const warning of warnings) {
      expect(warning.msg).toMatch(/access refused \(ACCESS_REFUSED\)/);
      expect(warning).not.toHaveProperty('err');
      expect(String(warning.reason)).not.toContain('\n');
    }
    await expectCleanStop(worker);
    expect(JSON.stringify(worker.lines) + worker.stderr.join('')).not.toContain('not-the-password-42');
  });

  it('an unknown virtual host is named as such', { timeout: 3 * STARTUP_BOUND_MS }, async () => {
    const vhost = `no_such_vhost_${suffix()}`;
    const worker = start(await variant((url) => (url.pathname = `/${vhost}`)));
    const [warning] = await retryWarnings(worker, 1);
    expect(warning!.msg).toContain(`virtual host "${vhost}" refused`);
    expect(warning!.msg).not.toContain('Expected ConnectionOpenOk');
    await expectCleanStop(worker);
  });

  it('a closed port says nothing listens there; the start-up line of a two-host URL shows no password', { timeout: 3 * STARTUP_BOUND_MS }, async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const url = `rabbit://nova:first-secret@127.0.0.1:${portA},nova:second-secret@127.0.0.1:${portB}/?rabbit_retry_interval=${RETRY_SECONDS}&rabbit_retry_backoff=0`;
    const worker = start(url);
    const warnings = await retryWarnings(worker, 2);
    expect(warnings.map((line) => line.msg).join('\n')).toMatch(new RegExp(`nothing listens on 127\\.0\\.0\\.1:(${portA}|${portB})`));
    const starting = worker.lines.find((line) => line.msg === 'starting')!;
    expect(starting.transport).toBe(`rabbit://nova:***@127.0.0.1:${portA},nova:***@127.0.0.1:${portB}/?rabbit_retry_interval=${RETRY_SECONDS}&rabbit_retry_backoff=0`);
    await expectCleanStop(worker);
    const everything = JSON.stringify(worker.lines) + worker.stderr.join('');
    expect(everything).not.toContain('first-secret');
    expect(everything).not.toContain('second-secret');
  });
});
