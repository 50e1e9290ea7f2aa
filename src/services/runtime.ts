/**
 * Launching services in one process: one transport and one database pool shared by the
 * services asked for (`api`, `scheduler`, `compute`, `network`), each with its own
 * Service host and child logger. `novarpc all` and the demo run them all; a worker
 * process runs one.
 */
import { createDb, type Db } from '../db/index.js';
import type { Logger } from '../log/logger.js';
import { getTransport, InvalidArguments, type MemoryBus, type Transport, type TransportConfig } from '../rpc/index.js';
import { ApiManager } from './api/manager.js';
import { ComputeManager } from './compute/manager.js';
import { HaApiManager } from './ha/api/manager.js';
import { HaEngineManager } from './ha/engine/manager.js';
import { HostMonitorManager } from './ha/monitor/hostmonitor.js';
import type { ServiceConfig } from './config.js';
import { NetworkManager } from './network/manager.js';
import { SchedulerManager } from './scheduler/manager.js';
import { HeartbeatReporter } from './heartbeats.js';
import { Service, type Manager } from './service.js';
import { startTelemetry, type Telemetry } from './telemetry/runtime-telemetry.js';

/** The services a process can run. */
export const SERVICE_NAMES = ['api', 'scheduler', 'network', 'compute', 'ha-api', 'ha-engine', 'hostmonitor'] as const;
/** The instance HA services, which `novarpc all` adds when `[ha] enabled`. */
export const HA_SERVICE_NAMES: readonly ServiceName[] = ['ha-engine', 'ha-api', 'hostmonitor'];
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** What to launch. */
export interface LaunchOptions {
  config: ServiceConfig;
  services: readonly ServiceName[];
  logger: Logger;
  /** Host names of the computes to run here; default `config.computeHosts`, or `[config.host]` when that is empty. */
  computeHosts?: readonly string[];
  /** For `memory://`: the bus to join (tests run several "processes" on one bus). */
  bus?: MemoryBus;
}

/** Running services and what they share. */
export interface Runtime {
  readonly config: ServiceConfig;
  readonly services: readonly Service[];
  readonly transport: Transport;
  readonly db: Db;
  /** The API's `http://host:port`, when the API runs here. */
  readonly apiUrl: string | undefined;
  /** The instance HA API's `http://host:port`, when it runs here. */
  readonly haApiUrl: string | undefined;
  /** The compute managers running here, by host. */
  readonly computes: ReadonlyMap<string, ComputeManager>;
  /** The process's batched heartbeats (one statement per report_interval). */
  readonly heartbeats: HeartbeatReporter;
  /** The process's metrics registry and `/metrics` URL, when `[metrics] listen_port` is set. */
  readonly telemetry: Telemetry;
  /** Stops every service (in-flight work bounded by graceful_shutdown_timeout), then the pools. */
  stop(): Promise<void>;
}

/** Opens the transport and the database, then starts the services (network and scheduler first). */
export async function launch(options: LaunchOptions): Promise<Runtime> {
  const { config, logger } = options;
  const telemetry = startTelemetry(config, options.services);
  const transport = openTransport(config, logger, options.bus, telemetry.transportConfig);
  const separateNotifications = config.notificationTransportUrl !== '' && config.notificationTransportUrl !== config.transportUrl;
  const notificationTransport = separateNotifications ? openTransport({ ...config, transportUrl: config.notificationTransportUrl }, logger, options.bus, telemetry.transportConfig) : transport;
  const closeTransports = async () => {
    await transport.close();
    if (notificationTransport !== transport) await notificationTransport.close();
  };
  let db: Db;
  try {
    db = await createDb({
      url: config.databaseConnection,
      logger,
      sqlEcho: config.sqlEcho,
      maxPoolSize: config.dbMaxPoolSize,
      migrate: config.autoMigrate,
      maxRetries: -1,
      retryIntervalMs: config.dbRetryInterval * 1000,
    });
  } catch (error) {
    await closeTransports();
    throw error;
  }
  const services: Service[] = [];
  const computes = new Map<string, ComputeManager>();
  let api: ApiManager | undefined;
  let haApi: HaApiManager | undefined;
  // One heartbeat statement per report_interval for all the services of this process.
  const heartbeats = new HeartbeatReporter({ db, logger, intervalSeconds: config.reportInterval });
  const add = (name: string, host: string, manager: Manager) => {
    const serviceLogger = logger.child({ service: name, host });
    services.push(new Service({ manager, config: { ...config, host }, transport, db, logger: serviceLogger, heartbeats }));
  };
  const deps = (host: string, name: string) => ({ db, transport, config: { ...config, host }, logger: logger.child({ service: name, host }) });
  const order: ServiceName[] = ['network', 'scheduler', 'compute', 'api', 'ha-engine', 'ha-api', 'hostmonitor'];
  for (const name of order.filter((candidate) => options.services.includes(candidate))) {
    if (name === 'network') add(name, config.host, new NetworkManager({ ...deps(config.host, name), topic: config.topics.network }));
    if (name === 'scheduler') add(name, config.host, new SchedulerManager(deps(config.host, name)));
    if (name === 'compute') {
      const hosts = options.computeHosts ?? (config.computeHosts.length > 0 ? config.computeHosts : [config.host]);
      for (const host of hosts) {
        const manager = new ComputeManager({ ...deps(host, name), notificationTransport });
        computes.set(host, manager);
        add(name, host, manager);
      }
    }
    if (name === 'api') {
      api = new ApiManager(deps(config.host, name));
      add(name, config.host, api);
    }
    if (name === 'ha-engine') add(name, config.host, new HaEngineManager(deps(config.host, name)));
    if (name === 'ha-api') {
      haApi = new HaApiManager(deps(config.host, name));
      add(name, config.host, haApi);
    }
    if (name === 'hostmonitor') add(name, config.host, new HostMonitorManager(deps(config.host, name)));
  }
  const stop = async () => {
    for (const service of [...services].reverse()) await service.stop();
    await telemetry.stop();
    await closeTransports();
    await db.close();
  };
  try {
    await telemetry.start({ db, transport, logger, servesApi: api !== undefined });
    await startInOrder(services);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { config, services, transport, db, apiUrl: api?.url, haApiUrl: haApi?.url, computes, heartbeats, telemetry, stop };
}

/** Compute services started at once (a process of 250 hosts starts in seconds, not minutes). */
const COMPUTE_START_CONCURRENCY = 16;

/**
 * Starts the services in order; consecutive compute services (one per host of
 * `compute_hosts`) start COMPUTE_START_CONCURRENCY at a time, since each waits mostly
 * on the broker and the database. The first failure rejects.
 */
async function startInOrder(services: readonly Service[]): Promise<void> {
  for (let i = 0; i < services.length; ) {
    if (services[i]!.manager.binary !== 'nova-compute') {
      await services[i++]!.start();
      continue;
    }
    const computes: Service[] = [];
    while (i < services.length && services[i]!.manager.binary === 'nova-compute') computes.push(services[i++]!);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(COMPUTE_START_CONCURRENCY, computes.length) }, async () => {
        while (next < computes.length) await computes[next++]!.start();
      }),
    );
  }
}

/** The transport of a config: its URL, control exchange and call timeout. */
export function openTransport(config: ServiceConfig, logger: Logger, bus?: MemoryBus, telemetry: Partial<TransportConfig> = {}): Transport {
  return getTransport(config.transportUrl, {
    ...telemetry,
    logger,
    bus,
    options: {
      ...config.transportOptions,
      control_exchange: config.controlExchange,
      rpc_response_timeout: config.rpcResponseTimeout,
      executor_thread_pool_size: config.executorPoolSize,
    },
    allowedRemoteErrors: [InvalidArguments],
  });
}
