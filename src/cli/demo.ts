/**
 * `novarpc demo`: every service in one process (by default on the memory bus and an
 * in-memory SQLite; with `--transport-url`/`--database-connection`, on those), two
 * computes, a few servers booted through the HTTP API, and for each server its journey:
 * every log line its request_id produced, service by service, with the states it went
 * through. Ends with the table of servers.
 */
import { Writable } from 'node:stream';
import { createLogger, redactUrlPasswords } from '../log/logger.js';
import type { ServiceConfig } from '../services/config.js';
import { FAIL_ON_METADATA_KEY } from '../services/compute/fake-driver.js';
import { launch } from '../services/runtime.js';
import { addressList, apiRequest, table, waitForServer, type ClientOptions } from './client.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  config: ServiceConfig;
  servers: number;
  out: NodeJS.WritableStream;
}

interface LogEntry {
  time: number;
  msg: string;
  service?: string;
  host?: string;
  request_id?: string;
  vm_state?: string;
  task_state?: string | null;
  [key: string]: unknown;
}

/** Captures pino lines in memory. */
class LogCapture extends Writable {
  readonly entries: LogEntry[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        this.entries.push(JSON.parse(line) as LogEntry);
      } catch {
        // not a log line
      }
    }
    done();
  }
}

const COMPUTES = ['compute1', 'compute2'];

/** Runs the demo; resolves when everything is stopped again. */
export async function runDemo(options: DemoOptions): Promise<void> {
  const { config, out } = options;
  const capture = new LogCapture();
  const logger = createLogger({ level: 'info', destination: capture });
  out.write(`novarpc demo: api, scheduler, network and ${COMPUTES.length} computes in one process\n`);
  out.write(`  transport ${redactUrlPasswords(config.transportUrl)}, database ${redactUrlPasswords(config.databaseConnection)}\n\n`);
  const runtime = await launch({ config, services: ['network', 'scheduler', 'compute', 'api'], computeHosts: COMPUTES, logger });
  try {
    const user: ClientOptions = { endpoint: `${runtime.apiUrl}/v2.1`, token: 'demo:demo' };
    const admin: ClientOptions = { ...user, token: 'admin:demo' };
    const { body: images } = await apiRequest<{ images: Array<{ id: string; name: string }> }>(user, 'GET', '/images');
    const image = images.images[0]!;
    const boots = await Promise.all(
      Array.from({ length: Math.max(1, options.servers) }, async (_, i) => {
        const name = `demo-${i + 1}`;
        // The last server fails to spawn on compute1, to show a reschedule when it lands there.
        const metadata = i === options.servers - 1 && options.servers > 1 ? { [FAIL_ON_METADATA_KEY]: 'compute1' } : { purpose: 'demo' };
        const created = await apiRequest<{ server: { id: string } }>(user, 'POST', '/servers', {
          server: { name, imageRef: image.id, flavorRef: '1', metadata },
        });
        out.write(`POST /servers ${name} -> 202, request_id ${created.requestId}\n`);
        return { name, id: created.body.server.id, requestId: created.requestId ?? '' };
      }),
    );
    await Promise.all(boots.map((boot) => waitForServer(user, boot.id, 60_000, 100)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const boot of boots) out.write(journey(boot, capture.entries));
    const { body } = await apiRequest<{ servers: Array<Parameters<typeof addressList>[0] & Record<string, unknown>> }>(admin, 'GET', '/servers/detail');
    out.write('\nServers:\n');
    out.write(
      table(
        ['Name', 'Status', 'Host', 'Networks', 'ID'],
        body.servers
          .slice()
          .reverse()
          .map((s) => [s.name, s.status, String(s['OS-EXT-SRV-ATTR:host'] ?? ''), addressList(s), s.id]),
      ),
    );
  } finally {
    await runtime.stop();
  }
}

/** The journey of one server: its request_id's log lines, relative to the first. */
function journey(boot: { name: string; requestId: string }, entries: readonly LogEntry[]): string {
  const lines = entries.filter((entry) => entry.request_id === boot.requestId && entry.msg !== 'incoming request');
  if (lines.length === 0) return `\n${boot.name}: no log lines for ${boot.requestId}\n`;
  const start = lines[0]!.time;
  const rows = lines.map((entry) => {
    const where = `${entry.service ?? 'api'}${entry.host ? `@${entry.host}` : ''}`;
    const state = entry.vm_state ? ` [${entry.vm_state}${entry.task_state ? `/${entry.task_state}` : ''}]` : '';
    return `  +${String(entry.time - start).padStart(4)}ms  ${where.padEnd(22)} ${entry.msg}${state}`;
  });
  return `\n${boot.name} (${boot.requestId}):\n${rows.join('\n')}\n`;
}
