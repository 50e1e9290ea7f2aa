/**
 * Worker processes for the end-to-end tests: `node --import tsx src/cli/main.ts <service>`,
 * stdout parsed as pino JSON lines, stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import * as amqp from 'amqplib';
import { toAmqpUrl } from '../support/harness.js';
import { createScratchDatabase, deleteBrokerObjects, freePort } from '../support/scratch.js';

export { deleteBrokerObjects, freePort };
import type { LogLine } from './support.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** A running worker. */
export interface Worker {
  name: string;
  process: ChildProcess;
  lines: LogLine[];
  stderr: string[];
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `novarpc <args>` with `env` added to the environment. */
export function startWorker(name: string, args: string[], env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const stderr: string[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line.trim()) continue;
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return {
    name,
    process: child,
    lines,
    stderr,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A free TCP port on 127.0.0.1. */

/** A random suffix for exchanges, topics and database names. */
export function suffix(): string {
  return randomBytes(4).toString('hex');
}

/** Creates a database of its own on the MariaDB server; returns its URL and how to drop it. */
export async function createDatabase(serverUrl: string, prefix = 'novarpc_svc'): Promise<{ url: string; drop(): Promise<void> }> {
  return createScratchDatabase(serverUrl, `${prefix}_${suffix()}`);
}

/** Messages waiting in a queue, or -1 when it does not exist. */
export async function queueDepth(brokerUrl: string, queue: string): Promise<number> {
  const connection = await amqp.connect(toAmqpUrl(brokerUrl));
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    const info = await channel.checkQueue(queue).catch(() => undefined);
    return info ? info.messageCount : -1;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
