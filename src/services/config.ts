/**
 * The settings every service reads. The CLI fills them from flags, `NOVARPC_*` env and a
 * nova.conf-style file; code (tests, the demo, the bench) builds them with
 * {@link resolveServiceConfig}. Nothing here reads the environment: pass a config in.
 */
import { hostname } from 'node:os';
import type { TransportOptionInput } from '../rpc/transport-options.js';
import { computeContract } from './compute/contract.js';
import { haEngineContract } from './ha/engine/contract.js';
import { networkContract } from './network/contract.js';
import { schedulerContract } from './scheduler/contract.js';

/** The fake hypervisor's knobs. */
export interface FakeDriverConfig {
  /** Milliseconds a spawn (and a reboot, rebuild, resize) takes. */
  spawnTimeMs: number;
  /** Fail every spawn on this host (to exercise rescheduling). */
  failSpawn: boolean;
  /** Capacity the host reports (defaults: Nova's fake driver, 1000 vCPUs, 800000 MB, 600000 GB). */
  memoryMb: number;
  vcpus: number;
  localGb: number;
}

/** HTTP API settings. */
export interface ApiConfig {
  /** Address to listen on (`osapi_compute_listen`). */
  listen: string;
  /** Port (`osapi_compute_listen_port`); 0 picks a free one. */
  port: number;
  /**
   * `noauth2` (token `user:project`, admin when user is `admin`), `tokens` (a token file)
   * or `keystone` (only tokens the built-in Identity endpoint issued).
   */
  authStrategy: 'noauth2' | 'tokens' | 'keystone';
  /** For `tokens`: lines `TOKEN USER PROJECT [admin]`. */
  tokenFile: string;
  /** Most servers one POST /servers may create. */
  maxCount: number;
  /** Allow `noauth2` on an address other than loopback (anyone can be admin). Default false. */
  allowInsecureNoauth: boolean;
  /**
   * Seconds a request waits for the message bus (broker connection and confirm) before
   * the API answers 503 (`[api] bus_timeout`); the transport's send_timeout is for other senders.
   */
  busTimeout: number;
  /** Base URL of the catalog's endpoints (`public_endpoint`); '' = the address a request came to. */
  publicEndpoint: string;
}

/** Default quota limits of every project (`[quota]`); -1 = unlimited. Per-project values come from os-quota-sets. */
export interface QuotaConfig {
  instances: number;
  cores: number;
  /** Megabytes. */
  ram: number;
}

/** The built-in Identity endpoint (`[identity]`). */
export interface IdentityConfig {
  /** Lines `USER PASSWORD PROJECT [admin]` (PASSWORD plaintext or `scrypt$salt$hash`); '' = no identity endpoint. */
  usersFile: string;
  /** Seconds a token lives (`token_expiration`). */
  tokenExpiration: number;
}

/** Instance HA (`[ha]`): the Masakari-style API, engine and host monitor. */
export interface HaConfig {
  /** Whether `novarpc all` runs the HA API, engine and a host monitor, and the catalog lists `instance-ha`. */
  enabled: boolean;
  /** Address the HA API listens on. */
  listen: string;
  /** Port of the HA API (Masakari's 15868); 0 picks a free one. */
  port: number;
  /** Base URL the catalog lists for `instance-ha` (`<base>/v1`); '' = the API's host on `port`. */
  publicEndpoint: string;
  /** Identity v3 URL of the engine and monitors; '' = `<[api] public_endpoint>/identity/v3`. */
  authUrl: string;
  /** Credentials the engine and monitors authenticate with (an admin). */
  username: string;
  password: string;
  project: string;
  /** RPC topic of the engine (Masakari's `ha_engine`). */
  topic: string;
  /** Seconds without a compute heartbeat before the host monitor reports the host down. */
  hostDownTime: number;
  /** Seconds between the host monitor's looks at the heartbeats. */
  monitorInterval: number;
  /** Seconds an engine's claim on a workflow lasts without renewal; a dead engine's work is resumed after it. */
  engineLeaseTime: number;
  /** Seconds the engine waits for one evacuated server to be ACTIVE on another host. */
  evacuateTimeout: number;
  /** Servers evacuated at once. */
  evacuateConcurrency: number;
  /** Runs of one workflow before it is `failed` (an `error` is retried). */
  maxAttempts: number;
}

/** The RPC topic of each service. */
export interface ServiceTopics {
  scheduler: string;
  compute: string;
  network: string;
}

/**
 * The default topics: the ones the services' contracts declare (Nova's `scheduler`,
 * `compute`, `network`; Masakari's `ha_engine`). Config defaults and `--help` read them here.
 */
export const DEFAULT_TOPICS: Readonly<ServiceTopics & { haEngine: string }> = Object.freeze({
  scheduler: schedulerContract.topic,
  compute: computeContract.topic,
  network: networkContract.topic,
  haEngine: haEngineContract.topic,
});

/** Everything a service process needs. */
export interface ServiceConfig {
  /** This host's name (`host`), e.g. compute1. */
  host: string;
  /**
   * Compute hosts this process runs (`compute_hosts`, ranges expanded), each a compute
   * service of its own on one shared transport connection and database pool; empty =
   * `host` alone.
   */
  computeHosts: string[];
  /** oslo transport URL (`transport_url`): `rabbit://user:pass@host:5672/` or `memory://`. */
  transportUrl: string;
  /** Topics of the services (`scheduler_topic`, `compute_topic`, `network_topic`). */
  topics: ServiceTopics;
  /** Exchange of every RPC (`control_exchange`). */
  controlExchange: string;
  /** Seconds a call waits for its reply (`rpc_response_timeout`). */
  rpcResponseTimeout: number;
  /** Database URL (`[database] connection`). */
  databaseConnection: string;
  /** Log every SQL statement (`[database] sql_echo`). */
  sqlEcho: boolean;
  /** Most database connections per process (`[database] max_pool_size`). */
  dbMaxPoolSize: number;
  /** Start-up connection retries (`[database] max_retries`); -1 = forever. */
  dbMaxRetries: number;
  /** Seconds before the first start-up retry, doubled each time (`[database] retry_interval`). */
  dbRetryInterval: number;
  /** Run the schema migrations at start-up. */
  autoMigrate: boolean;
  /** Seconds between heartbeats (`report_interval`). */
  reportInterval: number;
  /** Seconds without a heartbeat after which a service is down (`service_down_time`). */
  serviceDownTime: number;
  /** Seconds between runs of the periodic tasks (`periodic_interval`). */
  periodicInterval: number;
  /** Seconds a stopping service waits for in-flight work (`graceful_shutdown_timeout`). */
  gracefulShutdownTimeout: number;
  /** Build attempts of one server, the first included (`scheduler_max_attempts`). */
  schedulerMaxAttempts: number;
  /** Seconds a build may take before the compute puts it in ERROR (`instance_build_timeout`); 0 = never. */
  instanceBuildTimeout: number;
  /** Availability zone of this host's services (`default_availability_zone`). */
  availabilityZone: string;
  /** `messagingv2` sends notifications, `noop` drops them (`[notifications] driver`). */
  notificationDriver: 'messagingv2' | 'noop';
  /** Notification topics (`[notifications] topics`). */
  notificationTopics: string[];
  /** Bus of the notifications (`[oslo_messaging_notifications] transport_url`); '' = `transportUrl`. */
  notificationTransportUrl: string;
  /** RPC handlers running at once per service (`executor_thread_pool_size`). */
  executorPoolSize: number;
  /**
   * Where RPC servers claim `_unique_id`s (`rpc_duplicate_store`): `local` (each server's
   * last 1024 ids) or `database` (a table in `[database] connection` shared by every
   * worker, so that a message sent again after a broker failover runs once in the cloud).
   */
  rpcDuplicateStore: 'local' | 'database';
  /** Seconds the shared store keeps a claim (`rpc_duplicate_retention`). */
  rpcDuplicateRetention: number;
  /**
   * Transport options by their oslo.messaging names (from `[oslo_messaging_rabbit]`);
   * the transport URL's query wins over them.
   */
  transportOptions: TransportOptionInput;
  /** pino level (`log_level`; `debug = true` means debug). */
  logLevel: string;
  api: ApiConfig;
  identity: IdentityConfig;
  quota: QuotaConfig;
  fakeDriver: FakeDriverConfig;
  ha: HaConfig;
  /** Address of the Prometheus `/metrics` endpoint (`[metrics] listen`). */
  metricsListen: string;
  /** Its port (`[metrics] listen_port`); unset = no endpoint and no metrics, 0 = a free port. */
  metricsPort?: number;
}

/** A partial config: any field, nested ones partially. */
export type ServiceConfigInput = Partial<Omit<ServiceConfig, 'api' | 'fakeDriver' | 'topics' | 'identity' | 'quota' | 'ha'>> & {
  quota?: Partial<QuotaConfig>;
  ha?: Partial<HaConfig>;
  topics?: Partial<ServiceTopics>;
  api?: Partial<ApiConfig>;
  identity?: Partial<IdentityConfig>;
  fakeDriver?: Partial<FakeDriverConfig>;
};

/** The defaults: everything in one process on the memory bus and an in-memory SQLite. */
export function defaultServiceConfig(): ServiceConfig {
  return {
    host: hostname(),
    computeHosts: [],
    transportUrl: 'memory://',
    topics: { scheduler: DEFAULT_TOPICS.scheduler, compute: DEFAULT_TOPICS.compute, network: DEFAULT_TOPICS.network },
    controlExchange: 'nova',
    rpcResponseTimeout: 60,
    databaseConnection: 'sqlite://',
    sqlEcho: false,
    dbMaxPoolSize: 10,
    dbMaxRetries: 10,
    dbRetryInterval: 1,
    autoMigrate: true,
    reportInterval: 10,
    serviceDownTime: 60,
    periodicInterval: 60,
    gracefulShutdownTimeout: 30,
    schedulerMaxAttempts: 3,
    instanceBuildTimeout: 600,
    availabilityZone: 'nova',
    notificationDriver: 'messagingv2',
    notificationTopics: ['notifications'],
    notificationTransportUrl: '',
    executorPoolSize: 64,
    rpcDuplicateStore: 'local',
    rpcDuplicateRetention: 3600,
    transportOptions: {},
    logLevel: 'info',
    api: { listen: '127.0.0.1', port: 8774, authStrategy: 'noauth2', tokenFile: '', maxCount: 100, allowInsecureNoauth: false, busTimeout: 5, publicEndpoint: '' },
    identity: { usersFile: '', tokenExpiration: 3600 },
    // Unlimited by default so demos and benchmarks are not capped; Nova's are 10 / 20 / 51200.
    quota: { instances: -1, cores: -1, ram: -1 },
    fakeDriver: { spawnTimeMs: 0, failSpawn: false, memoryMb: 800000, vcpus: 1000, localGb: 600000 },
    metricsListen: '127.0.0.1',
    ha: defaultHaConfig(),
  };
}

/** The `[ha]` defaults. */
export function defaultHaConfig(): HaConfig {
  return {
    enabled: false,
    listen: '127.0.0.1',
    port: 15868,
    publicEndpoint: '',
    authUrl: '',
    username: 'admin',
    password: '',
    project: 'admin',
    topic: DEFAULT_TOPICS.haEngine,
    hostDownTime: 60,
    monitorInterval: 1,
    engineLeaseTime: 10,
    evacuateTimeout: 90,
    evacuateConcurrency: 3,
    maxAttempts: 3,
  };
}

/** The defaults overlaid with `input`. */
export function resolveServiceConfig(input: ServiceConfigInput = {}): ServiceConfig {
  const defaults = defaultServiceConfig();
  const defined = <T extends object>(value: T | undefined) =>
    Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    ...defaults,
    ...defined(input),
    api: { ...defaults.api, ...defined(input.api) },
    identity: { ...defaults.identity, ...defined(input.identity) },
    quota: { ...defaults.quota, ...defined(input.quota) },
    fakeDriver: { ...defaults.fakeDriver, ...defined(input.fakeDriver) },
    ha: { ...defaults.ha, ...defined(input.ha) },
    topics: { ...defaults.topics, ...defined(input.topics) },
  } as ServiceConfig;
}

/** True for 127.0.0.0/8, ::1 and `localhost`: addresses only this machine reaches. */
export function isLoopbackAddress(address: string): boolean {
  const host = address.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host) || /^::ffff:127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * Why the API must not start as configured: `noauth2` (any caller may claim to be admin)
 * on an address other machines reach, unless `[api] allow_insecure_noauth` says the
 * operator means it. Undefined when it may start.
 */
export function insecureApiProblem(api: ApiConfig): string | undefined {
  if (api.authStrategy !== 'noauth2' || api.allowInsecureNoauth || isLoopbackAddress(api.listen)) return undefined;
  return (
    `[api] auth_strategy = noauth2 lets anyone who sends "admin:x" act as admin, and [api] listen = ${api.listen} is not a loopback address: ` +
    'listen on 127.0.0.1, use auth_strategy = tokens with a token_file, or set [api] allow_insecure_noauth = true if that is really meant'
  );
}
