/**
 * A service process's telemetry: with `[metrics] listen_port` set, one prom-client
 * registry for the process (the transport's oslo metrics, the cloud's metrics,
 * prom-client's default process metrics) served at `/metrics`.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Db } from '../../db/index.js';
import type { Logger } from '../../log/logger.js';
import type { Transport, TransportConfig } from '../../rpc/index.js';
import type { ServiceConfig } from '../config.js';
import { CloudMetrics } from './cloud-metrics.js';
import { meterStatements, traceStatements } from './db-hooks.js';
import { serveMetrics, type MetricsServer } from './metrics-server.js';

/**
 * The process name of a set of services (metrics' `process` label, default service.name):
 * `nova-api`, `nova-scheduler`, `nova-compute`, `nova-network`; the HA services as
 * Masakari names them (`masakari-api`, `masakari-engine`, `masakari-hostmonitor`);
 * `novarpc` for several services in one process.
 */
export function processNameOf(services: readonly string[]): string {
  if (services.length !== 1) return 'novarpc';
  const service = services[0]!;
  if (service === 'hostmonitor') return 'masakari-hostmonitor';
  return service.startsWith('ha-') ? `masakari-${service.slice(3)}` : `nova-${service}`;
}

/** What the runtime needs to start telemetry once the transport and database are open. */
export interface TelemetryStart {
  db: Db;
  transport: Transport;
  logger: Logger;
  servesApi: boolean;
}

/** The process's telemetry. */
export interface Telemetry {
  /** The registry; undefined when metrics are off. */
  readonly registry: Registry | undefined;
  /** `http://host:port/metrics` once serving. */
  readonly metricsUrl: string | undefined;
  /** What the transport is opened with. */
  readonly transportConfig: Partial<TransportConfig>;
  start(deps: TelemetryStart): Promise<void>;
  stop(): Promise<void>;
}

/** Telemetry for the config; nothing at all when `[metrics] listen_port` is unset. */
export function startTelemetry(config: ServiceConfig, services: readonly string[]): Telemetry {
  const processName = processNameOf(services);
  if (config.metricsPort === undefined) {
    let untrace: (() => void) | undefined;
    return {
      registry: undefined,
      metricsUrl: undefined,
      transportConfig: { processName },
      start: async ({ db }) => {
        untrace = traceStatements(db.knex, db.dialect);
      },
      stop: async () => untrace?.(),
    };
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let server: MetricsServer | undefined;
  let detach: (() => void) | undefined;
  return {
    registry,
    get metricsUrl() {
      return server?.url;
    },
    transportConfig: { metrics: registry, processName },
    async start({ db, logger, servesApi }) {
      const cloud = new CloudMetrics(registry);
      const unmeter = meterStatements(db.knex, cloud);
      const untrace = traceStatements(db.knex, db.dialect);
      detach = () => {
        unmeter();
        untrace();
      };
      if (servesApi) cloud.watchServers(db.knex);
      server = await serveMetrics(registry, config.metricsListen, config.metricsPort!, logger);
    },
    async stop() {
      detach?.();
      detach = undefined;
      await server?.close();
      server = undefined;
    },
  };
}
