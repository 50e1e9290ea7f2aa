/**
 * Request bodies of the instance HA API, checked the way Masakari's JSON schemas check
 * them (segments, hosts, notifications and their payloads). A bad body is a 400 whose
 * message names the field, as Masakari's "Invalid input for field/attribute ..." does.
 */
import { badRequest } from '../../api/faults.js';

/** Recovery methods of a segment. */
export const RECOVERY_METHODS = ['auto', 'reserved_host', 'auto_priority', 'rh_priority'] as const;
export type RecoveryMethod = (typeof RECOVERY_METHODS)[number];
/** Notification types, payload events and statuses. */
export const NOTIFICATION_TYPES = ['COMPUTE_HOST', 'VM', 'PROCESS'] as const;
const EVENTS = ['STARTED', 'STOPPED'];
const HOST_STATUSES = ['NORMAL', 'UNKNOWN'];
const CLUSTER_STATUSES = ['ONLINE', 'OFFLINE'];
const TRUE_WORDS = ['true', '1', 'on', 'yes'];
const FALSE_WORDS = ['false', '0', 'off', 'no'];
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

type Json = Record<string, unknown>;

const invalid = (field: string, value: unknown, reason: string) =>
  badRequest(`Invalid input for field/attribute ${field}. Value: ${JSON.stringify(value)}. ${reason}`);

/** The object under `key` of a body with only that key. */
function envelope(body: unknown, key: string): Json {
  if (!isObject(body)) throw badRequest(`Invalid input for field/attribute ${key}. Value: None. '${key}' is a required property`);
  const extra = Object.keys(body).filter((name) => name !== key);
  if (extra.length) throw badRequest(`Additional properties are not allowed ('${extra.join("', '")}' were unexpected)`);
  const inner = body[key];
  if (!isObject(inner)) throw invalid(key, inner ?? null, `'${key}' is a required property of type object`);
  return inner;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function only(object: Json, allowed: readonly string[]): void {
  const extra = Object.keys(object).filter((name) => !allowed.includes(name));
  if (extra.length) throw badRequest(`Additional properties are not allowed ('${extra.join("', '")}' ${extra.length > 1 ? 'were' : 'was'} unexpected)`);
}

function required(object: Json, names: readonly string[]): void {
  for (const name of names) if (!(name in object)) throw badRequest(`'${name}' is a required property`);
}

/** Masakari's `name`: 1..255 printable characters, not starting or ending with whitespace. */
function name(field: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(field, value, `${JSON.stringify(value)} is not of type 'string'`);
  if (value.length < 1 || value.length > 255) throw invalid(field, value, 'must be 1 to 255 characters');
  if (/^\s|\s$/.test(value) || /[\p{C}]/u.test(value)) throw invalid(field, value, 'printable characters. Can not start or end with whitespace.');
  return value;
}

function text(field: string, value: unknown, pattern?: RegExp): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw invalid(field, value, `${JSON.stringify(value)} is not of type 'string', 'null'`);
  if (pattern && !pattern.test(value)) throw invalid(field, value, `does not match '${pattern.source}'`);
  return value;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw invalid(field, value, `${JSON.stringify(value)} is not one of ${JSON.stringify(allowed)}`);
  return value as T;
}

/** Masakari's boolean: true/false or one of its words. */
export function boolean(field: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && TRUE_WORDS.includes(value.toLowerCase())) return true;
  if (typeof value === 'string' && FALSE_WORDS.includes(value.toLowerCase())) return false;
  throw invalid(field, value, `${JSON.stringify(value)} is not a valid boolean`);
}

/** Segment fields a body may carry; `enabled` from 1.2. */
export interface SegmentInput {
  name?: string;
  description?: string | null;
  recovery_method?: RecoveryMethod;
  service_type?: string;
  enabled?: boolean;
}

/** A segment create (`create`) or update body. */
export function parseSegment(body: unknown, mode: 'create' | 'update', withEnabled: boolean): SegmentInput {
  const segment = envelope(body, 'segment');
  only(segment, ['name', 'description', 'recovery_method', 'service_type', ...(withEnabled ? ['enabled'] : [])]);
  if (mode === 'create') required(segment, ['name', 'recovery_method', 'service_type']);
  else if (Object.keys(segment).length === 0) throw badRequest("{} should be non-empty: one of name, description, recovery_method, service_type is required");
  const out: SegmentInput = {};
  if ('name' in segment) out.name = name('name', segment.name);
  if ('description' in segment) out.description = text('description', segment.description);
  if ('recovery_method' in segment) out.recovery_method = oneOf('recovery_method', segment.recovery_method, RECOVERY_METHODS);
  if ('service_type' in segment) out.service_type = name('service_type', segment.service_type);
  if ('enabled' in segment) out.enabled = boolean('enabled', segment.enabled);
  return out;
}

/** Host fields a body may carry. */
export interface HostInput {
  name?: string;
  type?: string | null;
  control_attributes?: string | null;
  reserved?: boolean;
  on_maintenance?: boolean;
}

/** A host create or update body. */
export function parseHost(body: unknown, mode: 'create' | 'update'): HostInput {
  const host = envelope(body, 'host');
  only(host, ['name', 'type', 'control_attributes', 'reserved', 'on_maintenance']);
  if (mode === 'create') required(host, ['name', 'type', 'control_attributes']);
  else if (Object.keys(host).length === 0) throw badRequest('{} should be non-empty: one of name, type, control_attributes, reserved, on_maintenance is required');
  const out: HostInput = {};
  if ('name' in host) out.name = name('name', host.name);
  if ('type' in host) out.type = text('type', host.type, /^[a-zA-Z0-9_]*$/);
  if ('control_attributes' in host) out.control_attributes = text('control_attributes', host.control_attributes);
  if ('reserved' in host) out.reserved = boolean('reserved', host.reserved);
  if ('on_maintenance' in host) out.on_maintenance = boolean('on_maintenance', host.on_maintenance);
  return out;
}

/** A checked notification body. */
export interface NotificationInput {
  type: (typeof NOTIFICATION_TYPES)[number];
  hostname: string;
  generated_time: Date;
  payload: Record<string, string>;
}

/** A notification create body, payload checked for its type. */
export function parseNotification(body: unknown): NotificationInput {
  const notification = envelope(body, 'notification');
  only(notification, ['type', 'hostname', 'generated_time', 'payload']);
  required(notification, ['type', 'hostname', 'generated_time', 'payload']);
  const type = oneOf('type', notification.type, NOTIFICATION_TYPES);
  const hostname = notification.hostname;
  if (typeof hostname !== 'string' || !/^[a-zA-Z0-9-._]{1,255}$/.test(hostname)) throw invalid('hostname', hostname, "does not match '^[a-zA-Z0-9-._]*$'");
  const generated = notification.generated_time;
  const time = typeof generated === 'string' ? new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(generated) ? generated : `${generated}Z`) : undefined;
  if (!time || Number.isNaN(time.getTime())) throw invalid('generated_time', generated, `${JSON.stringify(generated)} is not a 'date-time'`);
  return { type, hostname, generated_time: time, payload: parsePayload(type, notification.payload) };
}

function parsePayload(type: NotificationInput['type'], value: unknown): Record<string, string> {
  if (!isObject(value)) throw invalid('payload', value, `${JSON.stringify(value)} is not of type 'object'`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string' || item.length > 255) throw invalid(`payload.${key}`, item, `${JSON.stringify(item)} is not of type 'string'`);
  }
  const payload = value as Record<string, string>;
  if (type === 'COMPUTE_HOST') {
    only(payload, ['host_status', 'cluster_status', 'event']);
    required(payload, ['event']);
    oneOf('event', payload.event, EVENTS);
    if ('host_status' in payload) oneOf('host_status', payload.host_status, HOST_STATUSES);
    if ('cluster_status' in payload) oneOf('cluster_status', payload.cluster_status, CLUSTER_STATUSES);
  } else if (type === 'PROCESS') {
    only(payload, ['process_name', 'event']);
    required(payload, ['process_name', 'event']);
    if (!payload.process_name) throw invalid('process_name', payload.process_name, "'' is too short");
    oneOf('event', payload.event, EVENTS);
  } else {
    only(payload, ['instance_uuid', 'vir_domain_event', 'event']);
    required(payload, ['instance_uuid', 'vir_domain_event', 'event']);
    if (!UUID.test(payload.instance_uuid ?? '')) throw invalid('instance_uuid', payload.instance_uuid, "is not a 'uuid'");
    if (!payload.vir_domain_event) throw invalid('vir_domain_event', payload.vir_domain_event, "'' is too short");
    if (!payload.event) throw invalid('event', payload.event, "'' is too short");
  }
  return payload;
}
