/**
 * The oslo.messaging and oslo.db settings of a stock nova.conf: `[oslo_messaging_rabbit]`
 * options become transport options (the same ones a transport URL's query sets; the
 * query wins), and the options oslo has but novarpc does not use are listed so they are
 * reported once as "read, not used by novarpc" instead of as mistakes.
 */
import { OPTION_ALIASES, OPTION_SPECS } from '../rpc/transport-options.js';
import type { ServiceConfigInput } from '../services/config.js';
import type { OptionDef, OptionKind } from './options.js';

/** Transport options that nova.conf keeps in `[DEFAULT]` (they have their own novarpc settings). */
const DEFAULT_SECTION_TRANSPORT = new Set(['control_exchange', 'rpc_response_timeout', 'executor_thread_pool_size', 'rpc_conn_pool_size']);

const transportOption = (name: string) => (config: ServiceConfigInput, value: string | number | boolean) => {
  config.transportOptions = { ...config.transportOptions, [name]: value };
};

function aliasesOf(name: string): string[] {
  return Object.entries(OPTION_ALIASES)
    .filter(([, target]) => target === name)
    .map(([alias]) => alias);
}

/**
 * Transport options accepted so nova.conf values can be copied into a URL, but with no
 * effect on novarpc (amqplib keeps its own heartbeat schedule): in nova.conf they are
 * reported as read and not used.
 */
const NO_EFFECT = new Set(['heartbeat_rate']);

/** Every transport option as an `[oslo_messaging_rabbit]` setting (INI only: flags and env set them through the URL). */
export function osloRabbitOptions(): OptionDef[] {
  const defs: OptionDef[] = Object.entries(OPTION_SPECS)
    .filter(([name]) => !DEFAULT_SECTION_TRANSPORT.has(name) && !NO_EFFECT.has(name))
    .map(([name, spec]) => ({
      section: 'oslo_messaging_rabbit',
      key: name,
      aliases: aliasesOf(name),
      kind: spec.kind as OptionKind,
      help: `Transport option ${name} (default ${String(spec.default)}); ?${name}= in transport_url wins.`,
      scopes: ['bus'],
      iniOnly: true,
      apply: transportOption(name) as OptionDef['apply'],
    }));
  defs.push({
    section: 'DEFAULT',
    key: 'rpc_conn_pool_size',
    kind: 'int',
    help: 'Publisher channels per process (default 30); ?rpc_conn_pool_size= in transport_url wins.',
    scopes: ['bus'],
    iniOnly: true,
    apply: transportOption('rpc_conn_pool_size') as OptionDef['apply'],
  });
  return defs;
}

/**
 * Options oslo.messaging, oslo.db or Nova define in the sections novarpc reads, that
 * novarpc has no use for. A stock nova.conf may carry them; they are reported as read
 * and not used, never as errors.
 */
export const KNOWN_UNUSED: Readonly<Record<string, readonly string[]>> = {
  oslo_messaging_rabbit: [
    'heartbeat_rate', 'heartbeat_in_pthread', 'kombu_compression', 'ssl_version',
  ],
  oslo_messaging_notifications: ['retry'],
  database: [
    'backend', 'slave_connection', 'mysql_sql_mode', 'mysql_wsrep_sync_wait', 'mysql_enable_ndb', 'connection_recycle_time',
    'max_overflow', 'pool_timeout', 'connection_trace', 'use_db_reconnect', 'db_retry_interval', 'db_inc_retry_interval',
    'db_max_retry_interval', 'db_max_retries', 'connection_parameters', 'sqlite_synchronous', 'sqlite_db', 'asyncio_connection',
    'asyncio_slave_connection', 'min_pool_size',
  ],
  api: ['use_forwarded_for', 'config_drive_skip_versions', 'vendordata_providers', 'enable_instance_password', 'list_records_by_skipping_down_cells'],
  DEFAULT: ['my_ip', 'state_path', 'compute_driver', 'use_neutron', 'firewall_driver', 'enabled_apis', 'osapi_compute_workers', 'metadata_workers', 'log_dir', 'use_syslog'],
};
