/**
 * The `novarpc` command at the front door, as processes: a separate worker or db-sync
 * without a database refuses to start naming `[database] connection` (and a misspelt
 * NOVARPC_* variable is named), a missing --config-file is "no such file", and db-sync
 * against an unreachable database says so while it retries.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { brokerUrl } from '../support/services.js';
import { freePort, startWorker, type Worker } from './processes.js';

/** Start-up of a tsx process on a loaded machine: generous. */
const STARTUP_BOUND_MS = 60_000;
/** db-sync's first retry waits this long (capped at 10 s); the report comes before it. */
const RETRY_INTERVAL_SECONDS = 30;

describe('novarpc at the front door', () => {
  const workers: Worker[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
  });
  const run = (args: string[], env: Record<string, string> = {}) => {
    const worker = startWorker(args[0]!, args, env);
    workers.push(worker);
    return worker;
  };
  const exitOf = async (worker: Worker) => {
    const code = await Promise.race([worker.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), STARTUP_BOUND_MS))]);
    return { code, stderr: worker.stderr.join('') };
  };

  it('a separate worker on rabbit:// without a database refuses to start, naming [database] connection', { timeout: 2 * STARTUP_BOUND_MS }, async () => {
    const worker = run(['compute', '--host', 'no-db', '--transport-url', await brokerUrl()], { NOVARPC_DATABASE_CONNECTION: '' });
    const { code, stderr } = await exitOf(worker);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no database configured: set \[database\] connection/);
  });

  it('db-sync without a database refuses, and names the variable a misspelt one meant', { timeout: 2 * STARTUP_BOUND_MS }, async () => {
    const worker = run(['db-sync'], { NOVARPC_DATABSE_CONNECTION: 'mysql://root@127.0.0.1/test', NOVARPC_DATABASE_CONNECTION: '' });
    const { code, stderr } = await exitOf(worker);
    expect(code).toBe(1);
    expect(stderr).toContain('[database] connection');
    expect(stderr).toContain('NOVARPC_DATABSE_CONNECTION is not a novarpc option and is ignored; did you mean NOVARPC_DATABASE_CONNECTION?');
  });

  it('a missing --config-file is "no such file" with its path', { timeout: 2 * STARTUP_BOUND_MS }, async () => {
    const worker = run(['scheduler', '--config-file', '/nonexistent/novarpc/nova.conf']);
    const { code, stderr } = await exitOf(worker);
    expect(code).toBe(1);
    expect(stderr).toContain('--config-file /nonexistent/novarpc/nova.conf: no such file');
    expect(stderr).not.toContain('ENOENT');
  });

  it('db-sync against an unreachable database says so while it retries', { timeout: 2 * STARTUP_BOUND_MS }, async () => {
    const port = await freePort();
    const worker = run(['db-sync', '--database-connection', `mysql://nova:db-secret@127.0.0.1:${port}/nova`, '--database-retry-interval', String(RETRY_INTERVAL_SECONDS)]);
    const started = Date.now();
    const deadline = started + STARTUP_BOUND_MS;
    while (!worker.stderr.join('').includes('database unreachable')) {
      if (worker.process.exitCode !== null || Date.now() > deadline) throw new Error(`no report; stderr: ${worker.stderr.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Still retrying, and it said where.
    expect(worker.process.exitCode).toBeNull();
    const stderr = worker.stderr.join('');
    expect(stderr).toContain(`127.0.0.1:${port}`);
    expect(stderr).toMatch(/database unreachable, retrying in \d+ ms/);
    expect(stderr).not.toContain('db-secret');
  });

  it('a worker retrying on a database without schema says what to do in one line, and stops cleanly on SIGTERM', { timeout: 2 * STARTUP_BOUND_MS }, async () => {
    const worker = run(['network', '--host', 'no-schema', '--transport-url', 'memory://', '--database-connection', 'sqlite://']);
    const deadline = Date.now() + STARTUP_BOUND_MS;
    let warning: Record<string, unknown> | undefined;
    while (!(warning = worker.lines.find((line) => String(line.msg).startsWith('could not register the service')))) {
      if (worker.process.exitCode !== null || Date.now() > deadline) throw new Error(`no warning; ${JSON.stringify(worker.lines)} ${worker.stderr.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(warning.msg).toContain('run novarpc db-sync');
    expect(warning).not.toHaveProperty('err');
    expect(String(warning.reason)).not.toContain('\n');
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.lines.map((line) => line.msg)).toContain('stopped before start-up finished (still waiting for the broker or the database)');
  });
});
