/**
 * Transport options, by their oslo.messaging names so an operator can copy them from
 * nova.conf into the transport URL query. novarpc's only default that differs from
 * oslo's is `rabbit_quorum_queue=true` (durable quorum topic/server queues); set it to
 * false for declarations that match a stock OpenStack deployment exactly.
 */
import { InvalidTransportUrl } from './errors.js';

type OptionKind = 'bool' | 'int' | 'float' | 'string';

interface OptionSpec {
  kind: OptionKind;
  default: boolean | number | string;
  min?: number;
  choices?: readonly string[];
}

/** Every option the transport understands, with its type and default. */
export const OPTION_SPECS = {
  control_exchange: { kind: 'string', default: 'openstack' },
  amqp_durable_queues: { kind: 'bool', default: false },
  amqp_auto_delete: { kind: 'bool', default: false },
  rabbit_ha_queues: { kind: 'bool', default: false },
  rabbit_quorum_queue: { kind: 'bool', default: true },
  rabbit_quorum_delivery_limit: { kind: 'int', default: 0, min: 0 },
  rabbit_quorum_max_memory_length: { kind: 'int', default: 0, min: 0 },
  rabbit_quorum_max_memory_bytes: { kind: 'int', default: 0, min: 0 },
  /** novarpc: x-quorum-initial-group-size of quorum queues; 0 leaves it to the broker (all nodes). */
  rabbit_quorum_initial_group_size: { kind: 'int', default: 0, min: 0 },
  /** oslo 14.7+: reply and fanout queues as quorum queues (durable, with x-expires). */
  rabbit_transient_quorum_queue: { kind: 'bool', default: false },
  /** oslo 14.7+: one durable stream `<topic>_fanout` per topic instead of a fanout queue per server. */
  rabbit_stream_fanout: { kind: 'bool', default: false },
  /** oslo 14.7+: reply/fanout queue names `<host>:<process>:<n>` instead of uuids. */
  use_queue_manager: { kind: 'bool', default: false },
  /** Host name in queue-manager names; empty means the machine's host name. */
  hostname: { kind: 'string', default: '' },
  /** Process name in queue-manager names; empty means the script's base name. */
  processname: { kind: 'string', default: '' },
  rabbit_transient_queues_ttl: { kind: 'int', default: 1800, min: 1 },
  rabbit_qos_prefetch_count: { kind: 'int', default: 0, min: 0 },
  heartbeat_timeout_threshold: { kind: 'int', default: 60, min: 0 },
  /** Accepted for nova.conf compatibility; amqplib checks heartbeats on its own schedule (timeout / 2). */
  heartbeat_rate: { kind: 'int', default: 3, min: 1 },
  /** Replies are published mandatory (a missing reply queue is noticed and retried until the call's timeout). */
  direct_mandatory_flag: { kind: 'bool', default: true },
  rabbit_retry_interval: { kind: 'float', default: 1, min: 0 },
  rabbit_retry_backoff: { kind: 'float', default: 2, min: 0 },
  rabbit_interval_max: { kind: 'float', default: 30, min: 0 },
  kombu_reconnect_delay: { kind: 'float', default: 1, min: 0 },
  kombu_failover_strategy: { kind: 'string', default: 'round-robin', choices: ['round-robin', 'shuffle'] },
  kombu_missing_consumer_retry_timeout: { kind: 'float', default: 60, min: 0 },
  rpc_conn_pool_size: { kind: 'int', default: 30, min: 1 },
  rpc_response_timeout: { kind: 'float', default: 60, min: 0 },
  executor_thread_pool_size: { kind: 'int', default: 64, min: 1 },
  enable_cancel_on_failover: { kind: 'bool', default: false },
  rabbit_login_method: { kind: 'string', default: 'AMQPLAIN', choices: ['PLAIN', 'AMQPLAIN'] },
  ssl: { kind: 'bool', default: false },
  ssl_ca_file: { kind: 'string', default: '' },
  ssl_cert_file: { kind: 'string', default: '' },
  ssl_key_file: { kind: 'string', default: '' },
  ssl_enforce_hostname_verification: { kind: 'bool', default: false },
  /** novarpc: largest message body sent or accepted, in bytes. */
  max_message_size: { kind: 'int', default: 4 * 1024 * 1024, min: 1024 },
  /** novarpc: deliveries of one message before it goes to the dead-letter queue. */
  max_delivery_attempts: { kind: 'int', default: 5, min: 1 },
  /** novarpc: seconds to wait for a publisher channel (and for the broker) before a send fails. */
  send_timeout: { kind: 'float', default: 60, min: 0 },
  /** novarpc: name of the dead-letter queue. */
  dead_letter_queue: { kind: 'string', default: 'novarpc.dead_letter' },
} as const satisfies Record<string, OptionSpec>;

/** Old or misspelled names accepted for compatibility, mapped to the current ones. */
export const OPTION_ALIASES = {
  rabbit_quroum_max_memory_length: 'rabbit_quorum_max_memory_length',
  rabbit_quroum_max_memory_bytes: 'rabbit_quorum_max_memory_bytes',
  rabbit_use_ssl: 'ssl',
  kombu_ssl_ca_certs: 'ssl_ca_file',
  kombu_ssl_certfile: 'ssl_cert_file',
  kombu_ssl_keyfile: 'ssl_key_file',
  rabbit_durable_queues: 'amqp_durable_queues',
} as const satisfies Record<string, keyof typeof OPTION_SPECS>;

type SpecValue<S> = S extends { kind: 'bool' } ? boolean : S extends { kind: 'string' } ? string : number;

/** Resolved transport options. */
export type TransportOptions = { -readonly [K in keyof typeof OPTION_SPECS]: SpecValue<(typeof OPTION_SPECS)[K]> };

/** Option values given by the caller: raw strings (from a URL) or typed values. */
export type TransportOptionInput = Partial<Record<keyof typeof OPTION_SPECS | keyof typeof OPTION_ALIASES, string | number | boolean>>;

/** Merges defaults with the given values, validating each; unknown names are an error. */
export function resolveOptions(...inputs: Array<Record<string, unknown> | undefined>): TransportOptions {
  const options: Record<string, unknown> = Object.fromEntries(
    Object.entries(OPTION_SPECS).map(([name, spec]) => [name, spec.default]),
  );
  for (const input of inputs) {
    for (const [rawName, rawValue] of Object.entries(input ?? {})) {
      if (rawValue === undefined) continue;
      const name = (OPTION_ALIASES as Record<string, string>)[rawName] ?? rawName;
      const spec = (OPTION_SPECS as Record<string, OptionSpec>)[name];
      if (!spec) {
        throw new InvalidTransportUrl(`unknown transport option "${rawName}"; known options: ${Object.keys(OPTION_SPECS).join(', ')}`);
      }
      options[name] = coerce(name, spec, rawValue);
    }
  }
  const resolved = options as TransportOptions;
  validateCombination(resolved);
  return resolved;
}

/** Option combinations oslo.messaging refuses, and novarpc's own delivery-limit rule. */
function validateCombination(options: TransportOptions): void {
  const fail = (why: string): never => {
    throw new InvalidTransportUrl(why);
  };
  if (options.rabbit_ha_queues && options.rabbit_quorum_queue) fail('rabbit_ha_queues and rabbit_quorum_queue cannot both be true');
  if (options.rabbit_ha_queues && options.rabbit_transient_quorum_queue) {
    fail('rabbit_ha_queues and rabbit_transient_quorum_queue cannot both be true (mirrored or quorum queues, not both)');
  }
  if (options.rabbit_stream_fanout && options.rabbit_qos_prefetch_count <= 0) {
    fail('rabbit_stream_fanout needs rabbit_qos_prefetch_count > 0 (RabbitMQ streams need a prefetch), as oslo.messaging requires');
  }
  if (options.rabbit_stream_fanout && !options.rabbit_transient_quorum_queue) {
    fail('rabbit_stream_fanout needs rabbit_transient_quorum_queue=true (the fanout exchange is then durable), as oslo.messaging requires');
  }
  if (options.enable_cancel_on_failover && (options.rabbit_quorum_queue || options.rabbit_transient_quorum_queue)) {
    fail(
      'enable_cancel_on_failover (x-cancel-on-ha-failover) applies to classic mirrored queues only: RabbitMQ refuses it ' +
        'on quorum queues (406); set rabbit_quorum_queue=false and rabbit_transient_quorum_queue=false, or leave it off',
    );
  }
  const limit = options.rabbit_quorum_delivery_limit;
  const quorum = options.rabbit_quorum_queue || options.rabbit_transient_quorum_queue;
  if (quorum && limit > 0 && options.max_delivery_attempts > limit) {
    fail(
      `max_delivery_attempts (${options.max_delivery_attempts}) must not exceed rabbit_quorum_delivery_limit (${limit}): ` +
        'past its limit the broker drops a message silently (oslo declares no dead-letter exchange), ' +
        'so novarpc must move it to its dead-letter queue first',
    );
  }
}

function coerce(name: string, spec: OptionSpec, value: unknown): boolean | number | string {
  const fail = (expected: string): never => {
    throw new InvalidTransportUrl(`transport option ${name}=${JSON.stringify(value)} is invalid: expected ${expected}`);
  };
  if (spec.kind === 'bool') {
    if (typeof value === 'boolean') return value;
    const text = String(value).toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'off'].includes(text)) return false;
    return fail('a boolean (true/false)');
  }
  if (spec.kind === 'string') {
    const text = String(value);
    if (spec.choices && !spec.choices.includes(text)) fail(`one of ${spec.choices.join(', ')}`);
    return text;
  }
  const number = typeof value === 'number' ? value : Number(String(value).trim() === '' ? Number.NaN : value);
  if (!Number.isFinite(number)) fail(spec.kind === 'int' ? 'an integer' : 'a number');
  if (spec.kind === 'int' && !Number.isInteger(number)) fail('an integer');
  if (spec.min !== undefined && number < spec.min) fail(`a value >= ${spec.min}`);
  return number;
}
