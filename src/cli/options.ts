/**
 * Every setting of a novarpc process, once: its nova.conf section and key, the flag,
 * the `NOVARPC_*` variable, its type and help. The flag parser, the env reader, the INI
 * reader and `--help` are all built from this table.
 */
import type { ServiceConfigInput } from '../services/config.js';

/** How a value is read. */
export type OptionKind = 'string' | 'int' | 'float' | 'bool' | 'list';

/** One setting. */
export interface OptionDef {
  /** INI section (`DEFAULT`, `database`, `api`, `notifications`, `fake_driver`). */
  section: string;
  /** INI key. */
  key: string;
  /** Other INI keys accepted for it (nova.conf names). */
  aliases?: readonly string[];
  kind: OptionKind;
  help: string;
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

/** The settings, in `--help` order. */
export const OPTIONS: readonly OptionDef[] = [
  { section: 'DEFAULT', key: 'host', kind: 'string', help: 'Name of this host (compute host name, services table). Default: the machine hostname.', apply: top('host') },
  { section: 'DEFAULT', key: 'transport_url', kind: 'string', help: 'Message bus: rabbit://user:pass@host:5672/vhost or memory://. Default memory://.', apply: top('transportUrl') },
  { section: 'DEFAULT', key: 'control_exchange', kind: 'string', help: 'Exchange of every RPC. Default nova.', apply: top('controlExchange') },
  { section: 'DEFAULT', key: 'scheduler_topic', kind: 'string', help: 'RPC topic of the scheduler. Default scheduler.', apply: topic('scheduler') },
  { section: 'DEFAULT', key: 'compute_topic', kind: 'string', help: 'RPC topic of the computes. Default compute.', apply: topic('compute') },
  { section: 'DEFAULT', key: 'network_topic', kind: 'string', help: 'RPC topic of the network service. Default network.', apply: topic('network') },
  { section: 'DEFAULT', key: 'rpc_response_timeout', kind: 'float', help: 'Seconds a call waits for its reply. Default 60.', apply: top('rpcResponseTimeout') },
  { section: 'DEFAULT', key: 'report_interval', kind: 'float', help: 'Seconds between service heartbeats. Default 10.', apply: top('reportInterval') },
  { section: 'DEFAULT', key: 'service_down_time', kind: 'float', help: 'Seconds without heartbeat before a service counts as down. Default 60.', apply: top('serviceDownTime') },
  { section: 'DEFAULT', key: 'periodic_interval', kind: 'float', help: 'Seconds between periodic tasks (resource reports, stuck builds). Default 60.', apply: top('periodicInterval') },
  { section: 'DEFAULT', key: 'graceful_shutdown_timeout', kind: 'float', help: 'Seconds a stopping service waits for in-flight work. Default 30.', apply: top('gracefulShutdownTimeout') },
  { section: 'DEFAULT', key: 'scheduler_max_attempts', kind: 'int', help: 'Build attempts per server (first included). Default 3.', apply: top('schedulerMaxAttempts') },
  { section: 'DEFAULT', key: 'instance_build_timeout', kind: 'float', help: 'Seconds before a build still running is set to ERROR; 0 = never. Default 600.', apply: top('instanceBuildTimeout') },
  { section: 'DEFAULT', key: 'default_availability_zone', kind: 'string', help: 'Availability zone of this host. Default nova.', apply: top('availabilityZone') },
  { section: 'DEFAULT', key: 'executor_thread_pool_size', kind: 'int', help: 'RPC handlers running at once per service. Default 64.', apply: top('executorPoolSize') },
  { section: 'DEFAULT', key: 'log_level', kind: 'string', help: 'trace, debug, info, warn, error or silent. Default info.', apply: top('logLevel') },
  {
    section: 'DEFAULT', key: 'debug', kind: 'bool', help: 'Same as log_level = debug.',
    apply: ((config: ServiceConfigInput, value: boolean) => { if (value) config.logLevel = 'debug'; }) as OptionDef['apply'],
  },
  { section: 'database', key: 'connection', aliases: ['sql_connection'], kind: 'string', help: 'Database URL: mysql://user:pass@host/nova or sqlite:///path.db. Default sqlite:// (in memory).', apply: top('databaseConnection') },
  { section: 'database', key: 'sql_echo', aliases: ['connection_debug'], kind: 'bool', help: 'Log every SQL statement with its duration and request_id. Default false.', apply: top('sqlEcho') },
  { section: 'database', key: 'max_pool_size', kind: 'int', help: 'Most database connections per process. Default 10.', apply: top('dbMaxPoolSize') },
  { section: 'database', key: 'auto_migrate', kind: 'bool', help: 'Run schema migrations at start-up. Default true for api/all/demo, false for workers.', apply: top('autoMigrate') },
  { section: 'api', key: 'listen', aliases: ['osapi_compute_listen'], kind: 'string', help: 'Address the API listens on. Default 0.0.0.0.', apply: api('listen') },
  { section: 'api', key: 'listen_port', aliases: ['osapi_compute_listen_port'], kind: 'int', help: 'Port of the API. Default 8774.', apply: api('port') },
  { section: 'api', key: 'auth_strategy', kind: 'string', help: 'noauth2 (token "user:project"; user admin is admin), tokens (token_file) or keystone (tokens of the built-in /identity endpoint; needs [identity] users_file). Default noauth2.', apply: api('authStrategy') },
  { section: 'api', key: 'token_file', kind: 'string', help: 'For auth_strategy = tokens: lines "TOKEN USER PROJECT [admin]".', apply: api('tokenFile') },
  { section: 'api', key: 'public_endpoint', kind: 'string', help: 'Base URL the identity catalog lists (compute <base>/v2.1, image <base>/image, identity <base>/identity/v3). Default: the address each request came to.', apply: api('publicEndpoint') },
  { section: 'identity', key: 'users_file', kind: 'string', help: 'Users of the built-in /identity endpoint: lines "USER PASSWORD PROJECT [admin]", PASSWORD plaintext or scrypt$salt$hash (novarpc identity hash-password). Empty: no identity endpoint.', apply: identity('usersFile') },
  { section: 'identity', key: 'token_expiration', kind: 'int', help: 'Seconds an identity token lives. Default 3600.', apply: identity('tokenExpiration') },
  { section: 'quota', key: 'instances', kind: 'int', help: 'Default servers per project (os-quota-sets overrides per project); -1 = unlimited (default). Nova: 10.', apply: quota('instances') },
  { section: 'quota', key: 'cores', kind: 'int', help: 'Default vCPUs per project; -1 = unlimited (default). Nova: 20.', apply: quota('cores') },
  { section: 'quota', key: 'ram', kind: 'int', help: 'Default RAM (MB) per project; -1 = unlimited (default). Nova: 51200.', apply: quota('ram') },
  { section: 'api', key: 'max_count', kind: 'int', help: 'Most servers one create request may boot. Default 100.', apply: api('maxCount') },
  { section: 'ha', key: 'enabled', kind: 'bool', help: 'novarpc all runs the instance HA API, engine and a host monitor; the catalog lists instance-ha. Default false.', apply: ha('enabled') },
  { section: 'ha', key: 'listen', kind: 'string', help: 'Address the instance HA API listens on. Default 0.0.0.0.', apply: ha('listen') },
  { section: 'ha', key: 'listen_port', kind: 'int', help: 'Port of the instance HA API. Default 15868.', apply: ha('port') },
  { section: 'ha', key: 'public_endpoint', kind: 'string', help: 'Base URL the catalog lists for instance-ha (<base>/v1). Default: the API host on [ha] listen_port.', apply: ha('publicEndpoint') },
  { section: 'ha', key: 'auth_url', kind: 'string', help: 'Identity v3 URL of the HA engine and monitors. Default <[api] public_endpoint>/identity/v3.', apply: ha('authUrl') },
  { section: 'ha', key: 'username', kind: 'string', help: 'User the HA engine and monitors authenticate as (an admin). Default admin.', apply: ha('username') },
  { section: 'ha', key: 'password', kind: 'string', help: 'Password of [ha] username.', apply: ha('password') },
  { section: 'ha', key: 'project', kind: 'string', help: 'Project of [ha] username. Default admin.', apply: ha('project') },
  { section: 'ha', key: 'topic', kind: 'string', help: 'RPC topic of the HA engine. Default ha_engine.', apply: ha('topic') },
  { section: 'ha', key: 'host_down_time', kind: 'float', help: 'Seconds without a compute heartbeat before the host monitor reports the host. Default 60.', apply: ha('hostDownTime') },
  { section: 'ha', key: 'monitor_interval', kind: 'float', help: 'Seconds between the host monitor looks. Default 1.', apply: ha('monitorInterval') },
  { section: 'ha', key: 'engine_lease_time', kind: 'float', help: 'Seconds an engine holds a workflow without renewing; then another engine resumes it. Default 10.', apply: ha('engineLeaseTime') },
  { section: 'ha', key: 'evacuate_timeout', kind: 'float', help: 'Seconds to wait for one evacuated server to be ACTIVE elsewhere. Default 90.', apply: ha('evacuateTimeout') },
  { section: 'ha', key: 'evacuate_concurrency', kind: 'int', help: 'Servers evacuated at once. Default 3.', apply: ha('evacuateConcurrency') },
  { section: 'ha', key: 'max_attempts', kind: 'int', help: 'Runs of one recovery workflow before it is failed. Default 3.', apply: ha('maxAttempts') },
  { section: 'notifications', key: 'driver', kind: 'string', help: 'messagingv2 (send) or noop. Default messagingv2.', apply: top('notificationDriver') },
  { section: 'notifications', key: 'topics', kind: 'list', help: 'Comma-separated notification topics. Default notifications.', apply: top('notificationTopics') },
  { section: 'fake_driver', key: 'spawn_time', kind: 'int', help: 'Milliseconds each fake hypervisor operation takes. Default 0.', apply: fake('spawnTimeMs') },
  { section: 'fake_driver', key: 'fail_spawn', kind: 'bool', help: 'Fail every spawn on this host (exercises rescheduling). Default false.', apply: fake('failSpawn') },
  { section: 'fake_driver', key: 'memory_mb', kind: 'int', help: 'RAM the fake hypervisor reports. Default 800000.', apply: fake('memoryMb') },
  { section: 'fake_driver', key: 'vcpus', kind: 'int', help: 'vCPUs the fake hypervisor reports. Default 1000.', apply: fake('vcpus') },
  { section: 'fake_driver', key: 'local_gb', kind: 'int', help: 'Disk the fake hypervisor reports. Default 600000.', apply: fake('localGb') },
];

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
