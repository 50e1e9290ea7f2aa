/**
 * `novarpc demo`: every service in one process (by default on the memory bus and an
 * in-memory SQLite; with `--transport-url`/`--database-connection`, on those), two
 * computes, a few servers booted through the HTTP API, and for each server its journey,
 * drawn from the OpenTelemetry spans of its trace (HTTP request, every cast, call and
 * message processed, reschedules and failures), then every log line its request_id
 * produced, service by service, with the states it went through. Ends with the table
 * of servers. With `ha`, instance HA runs too and a compute is killed (see demo-ha.ts).
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { Writable } from 'node:stream';
import { createLogger, redactUrlPasswords } from '../log/logger.js';
import type { ServiceConfig } from '../services/config.js';
import { FAIL_ON_METADATA_KEY } from '../services/compute/fake-driver.js';
import { HA_SERVICE_NAMES, launch } from '../services/runtime.js';
import { addressList, apiRequest, table, waitForServer, type ClientOptions } from './client.js';
import { journeyFromSpans } from './journey.js';
import { createSegment, HA_COMPUTES, killAndRecover } from './demo-ha.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  config: ServiceConfig;
  servers: number;
  out: NodeJS.WritableStream;
  /** Run instance HA too, kill the busiest compute and show the evacuation (config from haDemoDefaults). */
  ha?: boolean;
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

/** Runs the demo; resolves when everything is stopped again: true unless the HA recovery did not finish. */
export async function runDemo(options: DemoOptions): Promise<boolean> {
  const { config, out, ha = false } = options;
  const capture = new LogCapture();
  const logger = createLogger({ level: 'info', destination: capture });
  const spans = await recordSpans();
  const computes = ha ? HA_COMPUTES : COMPUTES;
  out.write(`novarpc demo: api, scheduler, network and ${computes.length} computes${ha ? ', instance HA (api, engine, hostmonitor)' : ''} in one process\n`);
  out.write(`  transport ${redactUrlPasswords(config.transportUrl)}, database ${redactUrlPasswords(config.databaseConnection)}\n\n`);
  const runtime = await launch({ config, services: ['network', 'scheduler', 'compute', 'api', ...(ha ? HA_SERVICE_NAMES : [])], computeHosts: computes, logger });
  try {
    const user: ClientOptions = { endpoint: `${runtime.apiUrl}/v2.1`, token: 'demo:demo' };
    const admin: ClientOptions = { ...user, token: 'admin:demo' };
    const { body: images } = await apiRequest<{ images: Array<{ id: string; name: string }> }>(user, 'GET', '/images');
    const image = images.images[0]!;
    if (ha) await createSegment({ runtime, out });
    const boots = await Promise.all(
      Array.from({ length: Math.max(1, options.servers) }, async (_, i) => {
        const name = `demo-${i + 1}`;
        // The last server fails to spawn on compute1, to show a reschedule when it lands there
        // (not with HA: an evacuation to compute1 would fail the same way).
        const metadata = i === options.servers - 1 && options.servers > 1 && !ha ? { [FAIL_ON_METADATA_KEY]: 'compute1' } : { purpose: 'demo' };
        const created = await apiRequest<{ server: { id: string } }>(user, 'POST', '/servers', {
          server: { name, imageRef: image.id, flavorRef: '1', metadata },
        });
        out.write(`POST /servers ${name} -> 202, request_id ${created.requestId}\n`);
        return { name, id: created.body.server.id, requestId: created.requestId ?? '' };
      }),
    );
    await Promise.all(boots.map((boot) => waitForServer(user, boot.id, 60_000, 100)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    let recovered = true;
    if (ha) {
      out.write('\nServers:\n');
      await printServers(admin, out);
      const logLines = (name: string, requestId: string) => journey({ name, requestId }, capture.entries);
      const bootRequests = new Map(boots.map((boot) => [boot.id, boot.requestId]));
      recovered = await killAndRecover({ runtime, admin, spans, bootRequests, logLines, out });
    } else {
      for (const boot of boots) {
        out.write(journeyFromSpans(boot.name, boot.requestId, spans()));
        out.write(journey(boot, capture.entries));
      }
    }
    out.write('\nServers:\n');
    await printServers(admin, out);
    return recovered;
  } finally {
    await runtime.stop();
  }
}

/** The table of every server: name, status, host, addresses, id. */
async function printServers(admin: ClientOptions, out: NodeJS.WritableStream): Promise<void> {
  const { body } = await apiRequest<{ servers: Array<Parameters<typeof addressList>[0] & Record<string, unknown>> }>(admin, 'GET', '/servers/detail');
  out.write(
    table(
      ['Name', 'Status', 'Host', 'Networks', 'ID'],
      body.servers
        .slice()
        .reverse()
        .map((s) => [s.name, s.status, String(s['OS-EXT-SRV-ATTR:host'] ?? ''), addressList(s), s.id]),
    ),
  );
}

/**
 * Records this process's spans in memory (the demo is one process: the SDK is registered
 * globally, with the context manager and the W3C propagator, as `novarpc` workers do).
 */
async function recordSpans(): Promise<() => import('@opentelemetry/sdk-trace').ReadableSpan[]> {
  const [sdk, hooks, core] = await Promise.all([import('@opentelemetry/sdk-trace'), import('@opentelemetry/context-async-hooks'), import('@opentelemetry/core')]);
  const exporter = new sdk.InMemorySpanExporter();
  const provider = new sdk.TracerProvider({ spanProcessors: [new sdk.SimpleSpanProcessor({ exporter })] });
  context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return () => exporter.getFinishedSpans();
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
  return `  log lines:\n${rows.join('\n')}\n`;
}
