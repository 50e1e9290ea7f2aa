/**
 * A small cloud for service tests: every service in this process (memory bus + SQLite
 * by default), an HTTP helper speaking to its API, and waits on server states.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/logger.js';
import { resolveServiceConfig, type ServiceConfigInput } from '../../src/services/config.js';
import { launch, type Runtime } from '../../src/services/runtime.js';

/** One parsed log line. */
export type LogLine = Record<string, unknown> & { msg: string; request_id?: string };

/** Captures pino output. */
export class LogSink extends Writable {
  readonly lines: LogLine[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(JSON.parse(line) as LogLine);
    done();
  }
}

/** An HTTP answer. */
export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A running test cloud. */
export interface TestCloud {
  runtime: Runtime;
  logs: LogSink;
  endpoint: string;
  request<T = any>(method: string, path: string, body?: unknown, token?: string): Promise<Answer<T>>;
  boot(name: string, extra?: Record<string, unknown>, token?: string): Promise<string>;
  waitFor(id: string, statuses: string[], token?: string, timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
}

export const USER = 'alice:project-a';
export const OTHER = 'bob:project-b';
export const ADMIN = 'admin:project-a';
export const IMAGE = '928e2889-6359-40ef-b44c-0aa0b7394be1';

/** Starts every service with two computes. */
export async function startCloud(input: ServiceConfigInput = {}, computeHosts = ['c1', 'c2']): Promise<TestCloud> {
  const logs = new LogSink();
  const config = resolveServiceConfig({
    reportInterval: 1,
    serviceDownTime: 10,
    periodicInterval: 5,
    gracefulShutdownTimeout: 5,
    notificationDriver: 'noop',
    ...input,
    api: { listen: '127.0.0.1', port: 0, ...input.api },
    fakeDriver: { spawnTimeMs: 0, ...input.fakeDriver },
  });
  const runtime = await launch({ config, services: ['network', 'scheduler', 'compute', 'api'], computeHosts, logger: createLogger({ level: 'info', destination: logs }) });
  const endpoint = `${runtime.apiUrl}/v2.1`;
  const request = async <T,>(method: string, path: string, body?: unknown, token = USER): Promise<Answer<T>> => {
    const headers: Record<string, string> = {};
    if (token) headers['x-auth-token'] = token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${path.startsWith('http') ? '' : endpoint}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };
  const boot = async (name: string, extra: Record<string, unknown> = {}, token = USER) => {
    const answer = await request<any>('POST', '/servers', { server: { name, imageRef: IMAGE, flavorRef: '1', ...extra } }, token);
    if (answer.status !== 202) throw new Error(`boot ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.server.id as string;
  };
  const waitFor = async (id: string, statuses: string[], token = USER, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < deadline) {
      const answer = await request<any>('GET', `/servers/${id}`, undefined, token);
      last = answer.body?.server ?? answer.body;
      if (answer.status === 404 && statuses.includes('DELETED')) return { status: 'DELETED' };
      if (last?.status && statuses.includes(last.status) && !last['OS-EXT-STS:task_state']) return last;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`server ${id} not in ${statuses.join('/')} in time; last ${JSON.stringify(last)}`);
  };
  return { runtime, logs, endpoint, request, boot, waitFor, stop: () => runtime.stop() };
}
