/**
 * Every setting of a novarpc process, once: its nova.conf section and key, the flag,
 * the `NOVARPC_*` variable, its type and help. The flag parser, the env reader, the INI
 * reader and `--help` are all built from this table.
 */
import { DEFAULT_TOPICS, type ServiceConfigInput } from '../services/config.js';
import { osloRabbitOptions } from './oslo-options.js';
import { expandHostList } from '../services/compute/host-list.js';

/** How a value is read. */
export type OptionKind = 'string' | 'int' | 'float' | 'bool' | 'list';

/**
 * What an option is for; a command's `--help` lists only the scopes it uses.
 * `log`: every command; `bus`: the message bus; `db`: the database; `service`: every
 * long-running service; `check`: the health check; `api`, `scheduler`, `compute`, `network`: one service;
 * `ha`: the instance HA services.
 */
export type OptionScope = 'log' | 'bus' | 'db' | 'service' | 'check' | 'api' | 'scheduler' | 'compute' | 'network' | 'ha';

/** The scopes each command uses. */
export const COMMAND_SCOPES: Readonly<Record<string, readonly OptionScope[]>> = {
  api: ['log', 'bus', 'db', 'service', 'api'],
  scheduler: ['log', 'bus', 'db', 'service', 'scheduler'],
  compute: ['log', 'bus', 'db', 'service', 'compute'],
  network: ['log', 'bus', 'db', 'service', 'network'],
  'ha-api': ['log', 'bus', 'db', 'service', 'api', 'ha'],
  'ha-engine': ['log', 'bus', 'db', 'service', 'ha'],
  hostmonitor: ['log', 'bus', 'db', 'service', 'ha'],
  all: ['log', 'bus', 'db', 'service', 'api', 'scheduler', 'compute', 'network', 'ha'],
  demo: ['log', 'bus', 'db', 'service', 'api', 'scheduler', 'compute', 'network'],
  'db-sync': ['log', 'db'],
  check: ['log', 'db', 'check'],
  dlq: ['log', 'bus'],
};

/** One setting. */
export interface OptionDef {
  /** INI section (`DEFAULT`, `database`, `api`, `notifications`, `fake_driver`). */
  section: string;
  /** INI key. */
  key: string;
  /** Other INI keys accepted for it in the same section (nova.conf names). */
  aliases?: readonly string[];
  /** The same setting under another section (`[oslo_messaging_notifications] driver`). */
  alsoIn?: ReadonlyArray<{ section: string; key: string }>;
  /** Other environment variables accepted for it (lower precedence than its own). */
  envAliases?: readonly string[];
  kind: OptionKind;
  help: string;
  /** The commands that use it (see {@link COMMAND_SCOPES}). */
  scopes: readonly OptionScope[];
  /** Only in the INI file (no flag, no variable): transport options, which the URL query also sets. */
  iniOnly?: boolean;
  /** Stores a parsed value into the config input. */
  apply: (config: ServiceConfigInput, value: never) => void;
}

const top = <K extends keyof ServiceConfigInput>(key: K) => (config: ServiceConfigInput, value: ServiceConfigInput[K]) => {
  config[key] = value;
};
const api = <K extends keyof NonNullable<ServiceConfigInput['api']>>(key: K) => (config: ServiceConfigInput, value: NonNullable<ServiceConfigInput['api']>[K]) => {
  config.api = { ...config.api, [key]: value };
};
const identity = <K extends keyof NonNullable<ServiceConfigInput['identity']>>(key: K) => (config: ServiceConfigInput, value: NonNullable<ServiceConfigInput['identity']>[K]) => {
  config.identity = { ...config.identity, [key]: value };
};
const ha = <K extends keyof NonNullable<ServiceConfigInput['ha']>>(key: K) => (config: ServiceConfigInput, value: NonNullable<ServiceConfigInput['ha']>[K]) => {
  config.ha = { ...config.ha, [key]: value };
};
const quota = <K extends keyof NonNullable<ServiceConfigInput['quota']>>(key: K) => (config: ServiceConfigInput, value: NonNullable<ServiceConfigInput['quota']>[K]) => {
  config.quota = { ...config.quota, [key]: value };
};
const topic = (key: 'scheduler' | 'compute' | 'network') => (config: ServiceConfigInput, value: string) => {
  config.topics = { ...config.topics, [key]: value };
};
const fake = <K extends keyof NonNullable<ServiceConfigInput['fakeDriver']>>(key: K) => (config: ServiceConfigInput, value: NonNullable<ServiceConfigInput['fakeDriver']>[K]) => {
  config.fakeDriver = { ...config.fakeDriver, [key]: value };
};

const NOTIFICATIONS = [{ section: 'oslo_messaging_notifications', key: 'driver' }];
const SVC: readonly OptionScope[] = ['service'];
const HOST: readonly OptionScope[] = ['service', 'check'];

/** The settings, in `--help` order. */
export const OPTIONS: readonly OptionDef[] = [
  { section: 'DEFAULT', key: 'host', kind: 'string', scopes: HOST, help: 'Name of this host (compute host name, services table). Default: the machine hostname.', apply: top('host') },
  {
    section: 'DEFAULT',
    key: 'compute_hosts',
    kind: 'list',
    scopes: ['compute'],
    help: 'Run a compute service for each of these hosts in this one process (one broker connection, one database pool, one heartbeat statement); names or ranges like cell1-c[001-250]. Default: host alone.',
    apply: (config: ServiceConfigInput, value: string[]) => {
      config.computeHosts = expandHostList(value);
    },
  },
  { section: 'DEFAULT', key: 'transport_url', kind: 'string', scopes: ['bus'], help: 'Message bus: rabbit://user:pass@host:5672/vhost or memory://. Default memory://.', apply: top('transportUrl') },
  { section: 'DEFAULT', key: 'control_exchange', kind: 'string', scopes: ['bus'], help: 'Exchange of every RPC. Default nova.', apply: top('controlExchange') },
  { section: 'DEFAULT', key: 'scheduler_topic', kind: 'string', scopes: ['api', 'scheduler', 'compute'], help: `RPC topic of the scheduler. Default ${DEFAULT_TOPICS.scheduler}.`, apply: topic('scheduler') },
  { section: 'DEFAULT', key: 'compute_topic', kind: 'string', scopes: ['api', 'scheduler', 'compute'], help: `RPC topic of the computes. Default ${DEFAULT_TOPICS.compute}.`, apply: topic('compute') },
  { section: 'DEFAULT', key: 'network_topic', kind: 'string', scopes: ['compute', 'network'], help: `RPC topic of the network service. Default ${DEFAULT_TOPICS.network}.`, apply: topic('network') },
  { section: 'DEFAULT', key: 'rpc_response_timeout', kind: 'float', scopes: ['bus'], help: 'Seconds a call waits for its reply. Default 60.', apply: top('rpcResponseTimeout') },
  { section: 'DEFAULT', key: 'report_interval', kind: 'float', scopes: SVC, help: 'Seconds between service heartbeats. Default 10.', apply: top('reportInterval') },
  { section: 'DEFAULT', key: 'service_down_time', kind: 'float', scopes: ['api', 'scheduler', 'check'], help: 'Seconds without heartbeat before a service counts as down. Default 60.', apply: top('serviceDownTime') },
  { section: 'DEFAULT', key: 'periodic_interval', kind: 'float', scopes: ['scheduler', 'compute'], help: 'Seconds between periodic tasks (resource reports, stuck builds). Default 60.', apply: top('periodicInterval') },
  { section: 'DEFAULT', key: 'graceful_shutdown_timeout', kind: 'float', scopes: SVC, help: 'Seconds a stopping service waits for in-flight work. Default 30.', apply: top('gracefulShutdownTimeout') },
  { section: 'DEFAULT', key: 'scheduler_max_attempts', kind: 'int', scopes: ['scheduler'], help: 'Build attempts per server (first included). Default 3.', apply: top('schedulerMaxAttempts') },
  { section: 'DEFAULT', key: 'instance_build_timeout', kind: 'float', scopes: ['scheduler', 'compute'], help: 'Seconds before a build still running is set to ERROR; 0 = never. Default 600.', apply: top('instanceBuildTimeout') },
  { section: 'DEFAULT', key: 'default_availability_zone', kind: 'string', scopes: SVC, help: 'Availability zone of this host. Default nova.', apply: top('availabilityZone') },
  { section: 'DEFAULT', key: 'executor_thread_pool_size', kind: 'int', scopes: SVC, help: 'RPC handlers running at once per service. Default 64.', apply: top('executorPoolSize') },
  { section: 'DEFAULT', key: 'rpc_duplicate_store', kind: 'string', scopes: SVC, help: 'local (each RPC server drops the repeats it saw itself) or database (the workers share their claims in [database] connection: a message sent again after a broker failover runs once even when its copies reach two servers; one INSERT per message). Default local.', apply: top('rpcDuplicateStore') },
  { section: 'DEFAULT', key: 'rpc_duplicate_retention', kind: 'float', scopes: SVC, help: 'Seconds the database duplicate store keeps a claim. Default 3600.', apply: top('rpcDuplicateRetention') },
  { section: 'DEFAULT', key: 'log_level', kind: 'string', scopes: ['log'], help: 'trace, debug, info, warn, error or silent. Default info.', apply: top('logLevel') },
  {
    section: 'DEFAULT', key: 'debug', kind: 'bool', scopes: ['log'], help: 'Same as log_level = debug.',
    apply: ((config: ServiceConfigInput, value: boolean) => { if (value) config.logLevel = 'debug'; }) as OptionDef['apply'],
  },
  {
    section: 'database', key: 'connection', aliases: ['sql_connection'], envAliases: ['NOVARPC_DATABASE_URL'], kind: 'string', scopes: ['db'],
    help: 'Database URL: mysql://user:pass@host/nova or sqlite:///path.db. Required by every separate service on rabbit:// and by db-sync; all/demo default to sqlite:// (in memory).',
    apply: top('databaseConnection'),
  },
  { section: 'database', key: 'sql_echo', kind: 'bool', scopes: ['db'], help: 'Log every SQL statement with its duration and request_id. Default false.', apply: top('sqlEcho') },
  {
    section: 'database', key: 'connection_debug', kind: 'int', scopes: ['db'], help: 'oslo.db verbosity 0-100; above 0 means sql_echo = true.',
    apply: ((config: ServiceConfigInput, value: number) => { config.sqlEcho = value > 0; }) as OptionDef['apply'],
  },
  { section: 'database', key: 'max_pool_size', kind: 'int', scopes: ['db'], help: 'Most database connections per process. Default 10.', apply: top('dbMaxPoolSize') },
  { section: 'database', key: 'max_retries', kind: 'int', scopes: ['db'], help: 'Start-up connection retries of db-sync; -1 = forever (services always wait). Default 10.', apply: top('dbMaxRetries') },
  { section: 'database', key: 'retry_interval', kind: 'float', scopes: ['db'], help: 'Seconds before the first start-up retry, doubled each time (at most 10). Default 1.', apply: top('dbRetryInterval') },
  { section: 'database', key: 'auto_migrate', kind: 'bool', scopes: ['db'], help: 'Run schema migrations at start-up. Default true for api/all/demo, false for workers.', apply: top('autoMigrate') },
  { section: 'api', key: 'listen', aliases: ['osapi_compute_listen'], alsoIn: [{ section: 'DEFAULT', key: 'osapi_compute_listen' }], kind: 'string', scopes: ['api'], help: 'Address the API listens on. Default 127.0.0.1 (noauth2 elsewhere needs allow_insecure_noauth).', apply: api('listen') },
  { section: 'api', key: 'listen_port', aliases: ['osapi_compute_listen_port'], alsoIn: [{ section: 'DEFAULT', key: 'osapi_compute_listen_port' }], kind: 'int', scopes: ['api'], help: 'Port of the API. Default 8774.', apply: api('port') },
  { section: 'api', key: 'auth_strategy', kind: 'string', scopes: ['api'], help: 'noauth2 (token "user:project"; user admin is admin), tokens (token_file) or keystone (tokens of the built-in /identity endpoint; needs [identity] users_file). Default noauth2.', apply: api('authStrategy') },
  { section: 'api', key: 'allow_insecure_noauth', kind: 'bool', scopes: ['api'], help: 'Allow noauth2 on a non-loopback listen address (anyone can act as admin). Default false.', apply: api('allowInsecureNoauth') },
  { section: 'api', key: 'token_file', kind: 'string', scopes: ['api'], help: 'For auth_strategy = tokens: lines "TOKEN USER PROJECT [admin]".', apply: api('tokenFile') },
  { section: 'api', key: 'public_endpoint', kind: 'string', scopes: ['api', 'ha'], help: 'Base URL the identity catalog lists (compute <base>/v2.1, image <base>/image, identity <base>/identity/v3). Default: the address each request came to.', apply: api('publicEndpoint') },
  { section: 'identity', key: 'users_file', kind: 'string', scopes: ['api'], help: 'Users of the built-in /identity endpoint: lines "USER PASSWORD PROJECT [admin]", PASSWORD plaintext or scrypt$salt$hash (novarpc identity hash-password). Empty: no identity endpoint.', apply: identity('usersFile') },
  { section: 'identity', key: 'token_expiration', kind: 'int', scopes: ['api'], help: 'Seconds an identity token lives. Default 3600.', apply: identity('tokenExpiration') },
  { section: 'quota', key: 'instances', kind: 'int', scopes: ['api'], help: 'Default servers per project (os-quota-sets overrides per project); -1 = unlimited (default). Nova: 10.', apply: quota('instances') },
  { section: 'quota', key: 'cores', kind: 'int', scopes: ['api'], help: 'Default vCPUs per project; -1 = unlimited (default). Nova: 20.', apply: quota('cores') },
  { section: 'quota', key: 'ram', kind: 'int', scopes: ['api'], help: 'Default RAM (MB) per project; -1 = unlimited (default). Nova: 51200.', apply: quota('ram') },
  { section: 'api', key: 'bus_timeout', kind: 'float', scopes: ['api'], help: 'Seconds a request waits for the message bus before the API answers 503. Default 5.', apply: api('busTimeout') },
  { section: 'api', key: 'max_count', kind: 'int', scopes: ['api'], help: 'Most servers one create request may boot. Default 100.', apply: api('maxCount') },
  { section: 'ha', key: 'enabled', kind: 'bool', scopes: ['ha'], help: 'novarpc all runs the instance HA API, engine and a host monitor; the catalog lists instance-ha. Default false.', apply: ha('enabled') },
  { section: 'ha', key: 'listen', kind: 'string', scopes: ['ha'], help: 'Address the instance HA API listens on. Default 127.0.0.1.', apply: ha('listen') },
  { section: 'ha', key: 'listen_port', kind: 'int', scopes: ['ha'], help: 'Port of the instance HA API. Default 15868.', apply: ha('port') },
  { section: 'ha', key: 'public_endpoint', kind: 'string', scopes: ['ha'], help: 'Base URL the catalog lists for instance-ha (<base>/v1). Default: the API host on [ha] listen_port.', apply: ha('publicEndpoint') },
  { section: 'ha', key: 'auth_url', kind: 'string', scopes: ['ha'], help: 'Identity v3 URL of the HA engine and monitors. Default <[api] public_endpoint>/identity/v3.', apply: ha('authUrl') },
  { section: 'ha', key: 'username', kind: 'string', scopes: ['ha'], help: 'User the HA engine and monitors authenticate as (an admin). Default admin.', apply: ha('username') },
  { section: 'ha', key: 'password', kind: 'string', scopes: ['ha'], help: 'Password of [ha] username.', apply: ha('password') },
  { section: 'ha', key: 'project', kind: 'string', scopes: ['ha'], help: 'Project of [ha] username. Default admin.', apply: ha('project') },
  { section: 'ha', key: 'topic', kind: 'string', scopes: ['ha'], help: `RPC topic of the HA engine. Default ${DEFAULT_TOPICS.haEngine}.`, apply: ha('topic') },
  { section: 'ha', key: 'host_down_time', kind: 'float', scopes: ['ha'], help: 'Seconds without a compute heartbeat before the host monitor reports the host. Default 60.', apply: ha('hostDownTime') },
  { section: 'ha', key: 'monitor_interval', kind: 'float', scopes: ['ha'], help: 'Seconds between the host monitor looks. Default 1.', apply: ha('monitorInterval') },
  { section: 'ha', key: 'engine_lease_time', kind: 'float', scopes: ['ha'], help: 'Seconds an engine holds a workflow without renewing; then another engine resumes it. Default 10.', apply: ha('engineLeaseTime') },
  { section: 'ha', key: 'evacuate_timeout', kind: 'float', scopes: ['ha'], help: 'Seconds to wait for one evacuated server to be ACTIVE elsewhere. Default 90.', apply: ha('evacuateTimeout') },
  { section: 'ha', key: 'evacuate_concurrency', kind: 'int', scopes: ['ha'], help: 'Servers evacuated at once. Default 3.', apply: ha('evacuateConcurrency') },
  { section: 'ha', key: 'max_attempts', kind: 'int', scopes: ['ha'], help: 'Runs of one recovery workflow before it is failed. Default 3.', apply: ha('maxAttempts') },
  { section: 'notifications', key: 'driver', alsoIn: NOTIFICATIONS, kind: 'string', scopes: ['compute', 'ha'], help: 'messagingv2 (send) or noop. Default messagingv2.', apply: top('notificationDriver') },
  { section: 'notifications', key: 'topics', alsoIn: [{ section: 'oslo_messaging_notifications', key: 'topics' }], kind: 'list', scopes: ['compute', 'ha'], help: 'Comma-separated notification topics. Default notifications.', apply: top('notificationTopics') },
  {
    section: 'notifications', key: 'transport_url', alsoIn: [{ section: 'oslo_messaging_notifications', key: 'transport_url' }], kind: 'string', scopes: ['compute', 'ha'],
    help: 'Message bus of the notifications when it is not transport_url. Default: transport_url.', apply: top('notificationTransportUrl'),
  },
  { section: 'fake_driver', key: 'spawn_time', kind: 'int', scopes: ['compute'], help: 'Milliseconds each fake hypervisor operation takes. Default 0.', apply: fake('spawnTimeMs') },
  { section: 'fake_driver', key: 'fail_spawn', kind: 'bool', scopes: ['compute'], help: 'Fail every spawn on this host (exercises rescheduling). Default false.', apply: fake('failSpawn') },
  { section: 'fake_driver', key: 'memory_mb', kind: 'int', scopes: ['compute'], help: 'RAM the fake hypervisor reports. Default 800000.', apply: fake('memoryMb') },
  { section: 'fake_driver', key: 'vcpus', kind: 'int', scopes: ['compute'], help: 'vCPUs the fake hypervisor reports. Default 1000.', apply: fake('vcpus') },
  { section: 'fake_driver', key: 'local_gb', kind: 'int', scopes: ['compute'], help: 'Disk the fake hypervisor reports. Default 600000.', apply: fake('localGb') },
  { section: 'metrics', key: 'listen', kind: 'string', scopes: SVC, help: 'Address of the Prometheus /metrics endpoint. Default 127.0.0.1.', apply: top('metricsListen') },
  { section: 'metrics', key: 'listen_port', kind: 'int', scopes: SVC, help: 'Port of the Prometheus /metrics endpoint; unset = off. Default unset.', apply: top('metricsPort') },
  ...osloRabbitOptions(),
];

/** The options a command uses (all of them for an unknown command name). */
export function optionsFor(command: string): OptionDef[] {
  const scopes = COMMAND_SCOPES[command];
  return OPTIONS.filter((option) => !scopes || option.scopes.some((scope) => scopes.includes(scope)));
}

/** `--transport-url`, `--database-connection`, `--fake-driver-spawn-time`. */
export function flagName(option: OptionDef): string {
  const name = option.section === 'DEFAULT' ? option.key : `${option.section}_${option.key}`;
  return `--${name.replace(/_/g, '-')}`;
}

/** `NOVARPC_TRANSPORT_URL`, `NOVARPC_DATABASE_CONNECTION`. */
export function envName(option: OptionDef): string {
  const name = option.section === 'DEFAULT' ? option.key : `${option.section}_${option.key}`;
  return `NOVARPC_${name.toUpperCase()}`;
}

/** Parses a raw string as the option's kind; throws naming the option and where it came from. */
export function parseValue(option: OptionDef, raw: string, source: string): unknown {
  const fail = (expected: string) => new Error(`${source}: ${option.section}.${option.key} must be ${expected}, got "${raw}"`);
  switch (option.kind) {
    case 'string':
      return raw;
    case 'list':
      return raw.split(',').map((item) => item.trim()).filter(Boolean);
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw fail('an integer');
      return Number(raw);
    }
    case 'float': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw fail('a number');
      return value;
    }
    case 'bool': {
      const lowered = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lowered)) return true;
      if (['false', '0', 'no', 'off'].includes(lowered)) return false;
      throw fail('true or false');
    }
  }
}
