/**
 * A MariaDB server of a test's own (never the shared one on 3306): a fresh datadir in a
 * temp dir (mariadb-install-db), `mariadbd --no-defaults` on a free loopback port, root
 * with an empty password. `stop()` and `start()` take it down and bring it back on the
 * same datadir; `destroy()` stops it and removes the directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canConnect, freePort } from './net.js';

const run = promisify(execFile);

/** A private MariaDB server. */
export interface PrivateMariaDb {
  port: number;
  /** `mysql://root@127.0.0.1:<port>/mysql`. */
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

/** Installs and starts a private MariaDB; throws a clear error when the binaries are missing. */
export async function startPrivateMariaDb(): Promise<PrivateMariaDb> {
  const dir = await mkdtemp(join(tmpdir(), 'novarpc-mariadb-'));
  const datadir = join(dir, 'data');
  try {
    await run('mariadb-install-db', ['--no-defaults', `--datadir=${datadir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { timeout: 60_000 });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`cannot create a private MariaDB (mariadb-install-db from the mariadb-server package is needed): ${(error as Error).message}`);
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server = {
    port,
    url: `mysql://root@127.0.0.1:${port}/mysql`,
    async start() {
      // Idempotent: a second mariadbd on the same datadir cannot start, and the port
      // check would pass on the first one, leaving it running after destroy().
      if (child && child.exitCode === null && child.signalCode === null) return;
      child = spawn('mariadbd', [
        '--no-defaults', `--datadir=${datadir}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${join(dir, 'sock')}`,
        `--pid-file=${join(dir, 'pid')}`, '--user=root', '--skip-log-bin', '--innodb-buffer-pool-size=32M', `--log-error=${join(dir, 'error.log')}`,
      ], { stdio: 'ignore' });
      const deadline = Date.now() + 30_000;
      while (!(await canConnect('127.0.0.1', port))) {
        if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode}; see ${join(dir, 'error.log')}`);
        if (Date.now() > deadline) throw new Error('mariadbd did not listen within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise((resolve) => current.once('exit', resolve));
      current.kill('SIGTERM');
      const timer = setTimeout(() => current.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
    async destroy() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}

