/**
 * Writing oslo.messaging documents in envelope 2.0 (docs/wire-format.md §2.2):
 * `{"oslo.version": "2.0", "oslo.message": "<the inner document as a JSON string>"}`.
 *
 * Two forms live here side by side:
 *
 * - the **reference** ({@link referenceRequestBody}, {@link referenceReplyBody}):
 *   the inner document as an object in oslo's key order, `JSON.stringify` twice. It is
 *   what the bytes must be; test/unit/envelope.test.ts compares the fast form against
 *   it over many generated messages (unicode, escapes, nesting, large values).
 * - the **fast** form ({@link encodeRequest}, {@link encodeReply}) that the client and
 *   server use: the inner document is built as text, and quoting it for the envelope
 *   ("escape once") is done per part. Escaping JSON text for a JSON string is per
 *   character, so escaping parts joined at ASCII boundaries gives the escaped whole.
 *   A request's context entries are the same for every message of an (immutable)
 *   RequestContext: they are encoded and escaped once ({@link encodeContext}) and the
 *   context keeps them; only the per-message head is escaped per message.
 */
import { PayloadTooLarge, SerializationError } from '../errors.js';
import { stringifyJson } from './json.js';
import { CONTEXT_ENTRY_PREFIX, uuidHex, type NotificationMessage } from './messages.js';

/** What a client sends: a cast or a call. */
export interface OutgoingRequest {
  method: string;
  args: Record<string, unknown>;
  namespace?: string;
  version?: string;
  /** Present for calls only. */
  call?: { msgId: string; replyQueue: string; callMonitorTimeout: number | null };
  /** The context entries, already encoded by {@link encodeContextEntries}. */
  contextEntries: string;
  /** The same entries escaped for the envelope ({@link escapeForEnvelope}), when kept. */
  escapedContextEntries?: string;
  /** `_unique_id` (a uuid4 hex); a new one when absent. */
  uniqueId?: string;
}

/** A context's `_context_*` members, plain and escaped for the envelope. */
export interface EncodedContextEntries {
  contextEntries: string;
  escapedContextEntries: string | undefined;
}

/** A reply's fields: final (`ending: true`) or a call-monitor heartbeat. */
export interface OutgoingReply {
  result?: unknown;
  /** Failure JSON text, when the call failed. */
  failure?: string | null;
  ending: boolean;
}

// ---------------------------------------------------------------- reference form

/** The inner document of a request as an object, in oslo's key order (docs/wire-format.md §3.1). */
export function requestDocument(
  request: Omit<OutgoingRequest, 'contextEntries' | 'escapedContextEntries'> & { uniqueId: string },
  context: Record<string, unknown>,
): Record<string, unknown> {
  const inner: Record<string, unknown> = { method: request.method, args: request.args };
  if (request.namespace !== undefined) inner.namespace = request.namespace;
  if (request.version !== undefined) inner.version = request.version;
  if (request.call) {
    inner._msg_id = request.call.msgId;
    inner._reply_q = request.call.replyQueue;
    inner._timeout = request.call.callMonitorTimeout;
  }
  inner._unique_id = request.uniqueId;
  for (const key of Object.keys(context)) inner[CONTEXT_ENTRY_PREFIX + key] = context[key];
  return inner;
}

/** The reference bytes of a request: `JSON.stringify` of the inner document, then of the envelope. */
export function referenceRequestBody(
  request: Omit<OutgoingRequest, 'contextEntries' | 'escapedContextEntries'> & { uniqueId: string },
  context: Record<string, unknown>,
): Buffer {
  return referenceEnvelope(requestDocument(request, context));
}

/** The reference bytes of a reply. */
export function referenceReplyBody(msgId: string, reply: OutgoingReply, uniqueId: string): Buffer {
  return referenceEnvelope({ result: reply.result ?? null, failure: reply.failure ?? null, ending: reply.ending, _msg_id: msgId, _unique_id: uniqueId });
}

function referenceEnvelope(inner: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) }), 'utf8');
}

// ---------------------------------------------------------------- fast form

/** Wraps an inner document in envelope 2.0 and checks the size limit. */
export function encodeEnvelope(inner: Record<string, unknown>, maxBytes: number): Buffer {
  return envelopeBody(JSON.stringify(stringifyJson(inner, 'message')), maxBytes);
}

/** The envelope around an inner document already quoted as a JSON string; checks the size limit. */
function envelopeBody(quotedInner: string, maxBytes: number): Buffer {
  const body = Buffer.from(`{"oslo.version":"2.0","oslo.message":${quotedInner}}`, 'utf8');
  if (body.length > maxBytes) throw new PayloadTooLarge(body.length, maxBytes);
  return body;
}

/**
 * JSON text as it appears inside the envelope's `oslo.message` string (escaped, no
 * quotes).
 */
export function escapeForEnvelope(text: string): string {
  const quoted = JSON.stringify(text);
  return quoted.slice(1, quoted.length - 1);
}

/**
 * Encodes a context dict as the `"_context_<key>": value` members of the inner
 * document (each with a leading comma). A value JSON leaves out (undefined, a
 * function) is left out here too.
 */
export function encodeContextEntries(context: Record<string, unknown>): string {
  let entries = '';
  for (const key of Object.keys(context)) {
    let json: string | undefined;
    try {
      json = JSON.stringify(context[key]);
    } catch (error) {
      throw new SerializationError(`context key ${key} cannot be sent as JSON: ${(error as Error).message}`, { cause: error });
    }
    if (json !== undefined) entries += `,${JSON.stringify(CONTEXT_ENTRY_PREFIX + key)}:${json}`;
  }
  return entries;
}

/** Encodes a context dict's entries once, in both forms a request needs. */
export function encodeContext(context: Record<string, unknown>): EncodedContextEntries {
  const contextEntries = encodeContextEntries(context);
  return { contextEntries, escapedContextEntries: escapeForEnvelope(contextEntries) };
}

/** Encodes a request; the same bytes as {@link referenceRequestBody}. */
export function encodeRequest(request: OutgoingRequest, maxBytes: number): Buffer {
  let inner = `{"method":${JSON.stringify(request.method)},"args":${stringifyJson(request.args, 'arguments', request.method)}`;
  if (request.namespace !== undefined) inner += `,"namespace":${JSON.stringify(request.namespace)}`;
  if (request.version !== undefined) inner += `,"version":${JSON.stringify(request.version)}`;
  if (request.call) {
    const { msgId, replyQueue, callMonitorTimeout } = request.call;
    inner += `,"_msg_id":${JSON.stringify(msgId)},"_reply_q":${JSON.stringify(replyQueue)},"_timeout":${JSON.stringify(callMonitorTimeout)}`;
  }
  inner += `,"_unique_id":${JSON.stringify(request.uniqueId ?? uuidHex())}`;
  // Only the per-message head is escaped here; the context's part usually was already.
  const quotedHead = JSON.stringify(inner);
  const context = request.escapedContextEntries ?? escapeForEnvelope(request.contextEntries);
  return envelopeBody(`${quotedHead.slice(0, quotedHead.length - 1)}${context}}"`, maxBytes);
}

/** Encodes a reply; the same bytes as {@link referenceReplyBody}. */
export function encodeReply(msgId: string, reply: OutgoingReply, maxBytes: number, uniqueId: string = uuidHex()): Buffer {
  const result = stringifyJson(reply.result ?? null, 'result');
  const failure = reply.failure == null ? 'null' : JSON.stringify(reply.failure);
  const inner = `{"result":${result},"failure":${failure},"ending":${reply.ending},"_msg_id":${JSON.stringify(msgId)},"_unique_id":${JSON.stringify(uniqueId)}}`;
  return envelopeBody(JSON.stringify(inner), maxBytes);
}

/** Encodes a notification, enveloped (`messagingv2`) or bare (`messaging`). */
export function encodeNotification(message: NotificationMessage, enveloped: boolean, maxBytes: number): Buffer {
  const inner: Record<string, unknown> = {
    message_id: message.message_id,
    publisher_id: message.publisher_id,
    event_type: message.event_type,
    priority: message.priority,
    payload: message.payload,
    timestamp: message.timestamp,
    _unique_id: uuidHex(),
  };
  for (const [key, value] of Object.entries(message.context)) inner[CONTEXT_ENTRY_PREFIX + key] = value;
  if (enveloped) return encodeEnvelope(inner, maxBytes);
  const body = Buffer.from(stringifyJson(inner, 'notification'), 'utf8');
  if (body.length > maxBytes) throw new PayloadTooLarge(body.length, maxBytes);
  return body;
}
