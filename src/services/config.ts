/**
 * The settings every service reads. The CLI fills them from flags, `NOVARPC_*` env and a
 * nova.conf-style file; code (tests, the demo, the bench) builds them with
 * {@link resolveServiceConfig}. Nothing here reads the environment: pass a config in.
 */
import { hostname } from 'node:os';
import type { TransportOptionInput } from '../rpc/transport-options.js';

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
  /** `noauth2` (token `user:project`, admin when user is `admin`) or `tokens` (a token file). */
  authStrategy: 'noauth2' | 'tokens';
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
}

/** The RPC topic of each service. */
export interface ServiceTopics {
  scheduler: string;
  compute: string;
  network: string;
}

/** Everything a service process needs. */
export interface ServiceConfig {
  /** This host's name (`host`), e.g. compute1. */
  host: string;
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
   * Transport options by their oslo.messaging names (from `[oslo_messaging_rabbit]`);
   * the transport URL's query wins over them.
   */
  transportOptions: TransportOptionInput;
  /** pino level (`log_level`; `debug = true` means debug). */
  logLevel: string;
  api: ApiConfig;
  fakeDriver: FakeDriverConfig;
}

/** A partial config: any field, nested ones partially. */
export type ServiceConfigInput = Partial<Omit<ServiceConfig, 'api' | 'fakeDriver' | 'topics'>> & {
  topics?: Partial<ServiceTopics>;
  api?: Partial<ApiConfig>;
  fakeDriver?: Partial<FakeDriverConfig>;
};

/** The defaults: everything in one process on the memory bus and an in-memory SQLite. */
export function defaultServiceConfig(): ServiceConfig {
  return {
    host: hostname(),
    transportUrl: 'memory://',
    topics: { scheduler: 'scheduler', compute: 'compute', network: 'network' },
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
    transportOptions: {},
    logLevel: 'info',
    api: { listen: '127.0.0.1', port: 8774, authStrategy: 'noauth2', tokenFile: '', maxCount: 100, allowInsecureNoauth: false, busTimeout: 5 },
    fakeDriver: { spawnTimeMs: 0, failSpawn: false, memoryMb: 800000, vcpus: 1000, localGb: 600000 },
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
    fakeDriver: { ...defaults.fakeDriver, ...defined(input.fakeDriver) },
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
