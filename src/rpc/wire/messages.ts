/**
 * The oslo.messaging message documents as they are read: envelope 2.0 around RPC
 * requests, replies and notifications (docs/wire-format.md §2–§4, §8), with strict
 * decoding that turns anything malformed into a MalformedMessage naming what is wrong.
 * Writing them is envelope.ts.
 */
import { randomUUID } from 'node:crypto';
import { MalformedMessage } from '../errors.js';
import { isValidVersion } from '../version.js';
import { decodeUtf8, isPlainObject, parsePythonJson } from './json.js';

/** A uuid4 as 32 hex characters, as oslo writes `_msg_id` and `_unique_id`. */
export function uuidHex(): string {
  return randomUUID().replaceAll('-', '');
}

/** The prefix of context entries in a message (`_context_<key>`). */
export const CONTEXT_ENTRY_PREFIX = '_context_';

/** A decoded RPC request. */
export interface IncomingRequest {
  method: string;
  args: Record<string, unknown>;
  namespace: string | null;
  /** Requested version; "1.0" when the message has none (oslo's rule). */
  version: string;
  msgId: string | null;
  replyQueue: string | null;
  callMonitorTimeout: number | null;
  uniqueId: string | null;
  /** The `_context_*` entries with the prefix stripped (built when read). */
  readonly context: Record<string, unknown>;
  /** The decoded inner document the request came from. */
  readonly document: Readonly<Record<string, unknown>>;
}

/** A decoded reply. */
export interface IncomingReply {
  msgId: string;
  result: unknown;
  /** The failure JSON text, when the call failed. */
  failure: string | null;
  ending: boolean;
}

/** The notification document (the `messagingv2` inner message). */
export interface NotificationMessage {
  message_id: string;
  publisher_id: string;
  event_type: string;
  priority: string;
  payload: unknown;
  timestamp: string;
  context: Record<string, unknown>;
}

/**
 * Decodes a body to its inner document (docs/wire-format.md §2.2): an envelope 2.x is
 * opened, a bare object is taken as a 1.0 message; anything that is not an object is
 * malformed.
 */
export function decodeDocument(body: Buffer, maxBytes: number): Record<string, unknown> {
  if (body.length > maxBytes) throw new MalformedMessage(`message of ${body.length} bytes exceeds max_message_size of ${maxBytes} bytes`);
  const outer = parseJsonObject(decodeUtf8(body), 'message body');
  if (!('oslo.version' in outer) || !('oslo.message' in outer)) return outer;
  const version = outer['oslo.version'];
  if (version !== '2.0') {
    const parsed = typeof version === 'string' ? /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(version) : null;
    if (!parsed || Number(parsed[1]) !== 2 || Number(parsed[2]) !== 0) {
      throw new MalformedMessage(`unsupported envelope version ${JSON.stringify(version)} (this peer speaks 2.0)`);
    }
  }
  const inner = outer['oslo.message'];
  if (typeof inner !== 'string') throw new MalformedMessage('envelope "oslo.message" is not a string');
  return parseJsonObject(inner, '"oslo.message"');
}

/** Validates a decoded document as an RPC request. */
export function toIncomingRequest(doc: Record<string, unknown>): IncomingRequest {
  const { method, args, namespace, version, _msg_id: msgId, _reply_q: replyQueue, _timeout: timeout, _unique_id: uniqueId } = doc;
  if (typeof method !== 'string' || method === '') throw new MalformedMessage('request has no "method" string');
  if (args !== undefined && !isPlainObject(args)) throw new MalformedMessage(`"args" of ${method} is not an object`);
  if (namespace != null && typeof namespace !== 'string') throw new MalformedMessage('"namespace" is not a string');
  if (version != null && !isValidVersion(version)) throw new MalformedMessage(`"version" ${JSON.stringify(version)} is not "X.Y"`);
  if (msgId != null && typeof msgId !== 'string') throw new MalformedMessage('"_msg_id" is not a string');
  if (replyQueue != null && typeof replyQueue !== 'string') throw new MalformedMessage('"_reply_q" is not a string');
  if (timeout != null && typeof timeout !== 'number') throw new MalformedMessage('"_timeout" is not a number');
  return new DecodedRequest(
    method,
    (args as Record<string, unknown> | undefined) ?? {},
    (namespace as string | null | undefined) ?? null,
    (version as string | null | undefined) ?? '1.0',
    msgId ? (msgId as string) : null,
    replyQueue ? (replyQueue as string) : null,
    (timeout as number | null | undefined) ?? null,
    typeof uniqueId === 'string' ? uniqueId : null,
    doc,
  );
}

/** An {@link IncomingRequest} whose context dict is built only when read. */
class DecodedRequest implements IncomingRequest {
  constructor(
    readonly method: string,
    readonly args: Record<string, unknown>,
    readonly namespace: string | null,
    readonly version: string,
    readonly msgId: string | null,
    readonly replyQueue: string | null,
    readonly callMonitorTimeout: number | null,
    readonly uniqueId: string | null,
    readonly document: Readonly<Record<string, unknown>>,
  ) {}

  get context(): Record<string, unknown> {
    return contextOf(this.document);
  }
}

/** The `_context_*` entries of a document, with the prefix stripped. */
export function contextOf(doc: Record<string, unknown>): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  for (const key in doc) {
    // `_` first: most keys are rejected on their first character.
    if (key.charCodeAt(0) === 95 && key.startsWith(CONTEXT_ENTRY_PREFIX)) context[key.slice(CONTEXT_ENTRY_PREFIX.length)] = doc[key];
  }
  return context;
}

/** Validates a decoded document as a reply. */
export function toIncomingReply(doc: Record<string, unknown>): IncomingReply {
  if (typeof doc._msg_id !== 'string') throw new MalformedMessage('reply has no "_msg_id"');
  const failure = doc.failure;
  return {
    msgId: doc._msg_id,
    result: doc.result ?? null,
    failure: failure == null ? null : typeof failure === 'string' ? failure : JSON.stringify(failure),
    ending: doc.ending === true,
  };
}

/** Validates a decoded document as a notification. */
export function toNotification(doc: Record<string, unknown>): NotificationMessage & { uniqueId: string | null } {
  const context = contextOf(doc);
  return {
    message_id: typeof doc.message_id === 'string' ? doc.message_id : '',
    publisher_id: typeof doc.publisher_id === 'string' ? doc.publisher_id : '',
    event_type: typeof doc.event_type === 'string' ? doc.event_type : '',
    priority: typeof doc.priority === 'string' ? doc.priority : '',
    payload: doc.payload ?? null,
    timestamp: typeof doc.timestamp === 'string' ? doc.timestamp : '',
    context,
    uniqueId: typeof doc._unique_id === 'string' ? doc._unique_id : null,
  };
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parsePythonJson(text);
  } catch (error) {
    throw new MalformedMessage(`${what} is not JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(value)) throw new MalformedMessage(`${what} is not a JSON object`);
  return value;
}
