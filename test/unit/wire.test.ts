import { describe, expect, it } from 'vitest';
import { MalformedMessage, PayloadTooLarge, RequestContext, SerializationError } from '../../src/rpc/index.js';
import { parsePythonJson } from '../../src/rpc/wire/json.js';
import { decodeDocument, toIncomingRequest, toIncomingReply } from '../../src/rpc/wire/messages.js';
import { encodeContext, encodeContextEntries, encodeNotification, encodeReply, encodeRequest } from '../../src/rpc/wire/envelope.js';
import { pythonUtcNow } from '../../src/rpc/notifier.js';

const MAX = 1 << 20;

function inner(body: Buffer): Record<string, unknown> {
  const outer = JSON.parse(body.toString('utf8'));
  expect(Object.keys(outer)).toEqual(['oslo.version', 'oslo.message']);
  expect(outer['oslo.version']).toBe('2.0');
  expect(typeof outer['oslo.message']).toBe('string');
  return JSON.parse(outer['oslo.message']);
}

describe('oslo wire format (docs/wire-format.md §2–§4)', () => {
  it("encodes a call as envelope 2.0 with oslo's key order", () => {
    const body = encodeRequest(
      {
        method: 'add',
        args: { a: 1, b: 2 },
        version: '1.2',
        call: { msgId: '587c99c7b4de4dc9b64d9ce325e95bdf', replyQueue: 'reply_356e', callMonitorTimeout: 3 },
        contextEntries: encodeContextEntries({ request_id: 'req-x', user: 'u', project_id: 'p', roles: ['r'] }),
      },
      MAX,
    );
    const doc = inner(body);
    expect(Object.keys(doc)).toEqual([
      'method', 'args', 'version', '_msg_id', '_reply_q', '_timeout', '_unique_id',
      '_context_request_id', '_context_user', '_context_project_id', '_context_roles',
    ]);
    expect(doc).toMatchObject({ method: 'add', args: { a: 1, b: 2 }, version: '1.2', _msg_id: '587c99c7b4de4dc9b64d9ce325e95bdf', _reply_q: 'reply_356e', _timeout: 3 });
    expect(doc._unique_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a cast carries no _msg_id, _reply_q or _timeout; namespace only when set', () => {
    const doc = inner(encodeRequest({ method: 'm', args: {}, namespace: 'ns', contextEntries: '' }, MAX));
    expect(doc).not.toHaveProperty('_msg_id');
    expect(doc).not.toHaveProperty('_reply_q');
    expect(doc).not.toHaveProperty('_timeout');
    expect(doc.namespace).toBe('ns');
    expect(inner(encodeRequest({ method: 'm', args: {}, contextEntries: '' }, MAX))).not.toHaveProperty('version');
  });

  it('encodes replies as {result, failure, ending, _msg_id, _unique_id}', () => {
    const doc = inner(encodeReply('abc', { result: { x: 1 }, ending: true }, MAX));
    expect(Object.keys(doc)).toEqual(['result', 'failure', 'ending', '_msg_id', '_unique_id']);
    expect(doc).toMatchObject({ result: { x: 1 }, failure: null, ending: true, _msg_id: 'abc' });
    expect(inner(encodeReply('abc', { ending: false }, MAX))).toMatchObject({ result: null, failure: null, ending: false });
  });

  it('decodes requests: version defaults to 1.0, context keys are unprefixed, bare 1.0 dicts accepted', () => {
    const enveloped = encodeRequest({ method: 'm', args: { k: 'v' }, contextEntries: encodeContextEntries({ user: 'u', x: [1] }) }, MAX);
    const request = toIncomingRequest(decodeDocument(enveloped, MAX));
    expect(request).toMatchObject({ method: 'm', args: { k: 'v' }, version: '1.0', namespace: null, msgId: null, context: { user: 'u', x: [1] } });
    const bare = Buffer.from(JSON.stringify({ method: 'legacy', args: {}, _context_user: 'old' }));
    expect(toIncomingRequest(decodeDocument(bare, MAX))).toMatchObject({ method: 'legacy', context: { user: 'old' } });
  });

  it('a context escaped once for the envelope gives the same bytes as escaping the whole message', () => {
    const tricky = { user: 'o"brien\\', note: 'tab\there\nline', name: 'Zoë 名前 🚀', ctl: '\u0001', extra: { q: '"' } };
    const encoded = encodeContext(tricky);
    const base = { method: 'm', args: { a: '"x"' }, uniqueId: '0123456789abcdef0123456789abcdef' };
    const once = encodeRequest({ ...base, ...encoded }, MAX);
    const whole = encodeRequest({ ...base, contextEntries: encoded.contextEntries }, MAX);
    expect(once.equals(whole)).toBe(true);
    expect(toIncomingRequest(decodeDocument(once, MAX)).context).toEqual(tricky);
    expect(once.toString('utf8')).toBe(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner(whole)) }));
  });

  it('refuses malformed input with a reason', () => {
    const bad: Array<[Buffer, RegExp]> = [
      [Buffer.from('nope'), /not JSON/],
      [Buffer.from('[1,2]'), /not a JSON object/],
      [Buffer.from([0xc3, 0x28]), /UTF-8/],
      [Buffer.from(JSON.stringify({ 'oslo.version': '2.1', 'oslo.message': '{}' })), /envelope version/],
      [Buffer.from(JSON.stringify({ 'oslo.version': '1.0', 'oslo.message': '{}' })), /envelope version/],
      [Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': 42 })), /not a string/],
      [Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '{"args":{}}' })), /no "method"/],
      [Buffer.from(JSON.stringify({ method: 'm', version: 'one' })), /"version"/],
      [Buffer.from(JSON.stringify({ method: 'm', _timeout: 'x' })), /_timeout/],
      [Buffer.alloc(MAX + 1, 0x20), /max_message_size/],
    ];
    for (const [body, reason] of bad) {
      expect(() => toIncomingRequest(decodeDocument(body, MAX))).toThrow(MalformedMessage);
      expect(() => toIncomingRequest(decodeDocument(body, MAX))).toThrow(reason);
    }
  });

  it('accepts a real U+FFFD character while refusing invalid UTF-8', () => {
    const body = Buffer.from(JSON.stringify({ method: 'm', args: { text: 'replacement \uFFFD char' } }), 'utf8');
    expect(toIncomingRequest(decodeDocument(body, MAX)).args).toEqual({ text: 'replacement \uFFFD char' });
  });

  it('tolerates Python NaN/Infinity tokens outside strings only', () => {
    expect(parsePythonJson('{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN stays text"}')).toEqual({
      a: Number.NaN,
      b: [Infinity, -Infinity],
      c: 'NaN stays text',
    });
  });

  it('refuses values JSON cannot carry, and payloads over the limit, at the sender', () => {
    expect(() => encodeRequest({ method: 'm', args: { n: 10n }, contextEntries: '' }, MAX)).toThrow(SerializationError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeRequest({ method: 'm', args: cyclic, contextEntries: '' }, MAX)).toThrow(SerializationError);
    expect(() => encodeRequest({ method: 'm', args: { big: 'x'.repeat(2048) }, contextEntries: '' }, 1024)).toThrow(PayloadTooLarge);
  });

  it('decodes replies, keeping a failure as its JSON text', () => {
    const reply = toIncomingReply({ result: null, failure: '{"class":"ValueError"}', ending: true, _msg_id: 'm1' });
    expect(reply).toEqual({ msgId: 'm1', result: null, failure: '{"class":"ValueError"}', ending: true });
  });

  it('notifications: enveloped for messagingv2, bare for messaging, Python timestamp format', () => {
    const message = {
      message_id: 'id', publisher_id: 'compute.host1', event_type: 'e', priority: 'INFO', payload: { a: 1 },
      timestamp: pythonUtcNow(new Date('2026-11-21T20:07:15.859Z')), context: { user: 'u' },
    };
    expect(message.timestamp).toBe('2026-11-21 20:07:15.859000');
    expect(pythonUtcNow(new Date('2026-11-21T20:07:15.000Z'))).toBe('2026-11-21 20:07:15');
    expect(inner(encodeNotification(message, true, MAX))).toMatchObject({ publisher_id: 'compute.host1', _context_user: 'u' });
    const bare = JSON.parse(encodeNotification(message, false, MAX).toString());
    expect(bare).not.toHaveProperty('oslo.version');
    expect(bare.event_type).toBe('e');
  });
});

describe('request context (docs/wire-format.md §3.2)', () => {
  it('sends oslo.context and nova keys, tenant for old peers, and no null keys', () => {
    const dict = new RequestContext({ userId: 'u', projectId: 'p', roles: ['admin'], isAdmin: true, authToken: 't' }).toDict();
    expect(dict).toMatchObject({ user: 'u', user_id: 'u', project_id: 'p', project: 'p', tenant: 'p', roles: ['admin'], is_admin: true, auth_token: 't', read_deleted: 'no' });
    expect(dict.request_id).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(dict.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(dict.user_identity).toBe('u p - - -');
    expect(Object.values(dict)).not.toContain(null);
  });

  it('reads project_id, tenant or project, and keeps unknown keys', () => {
    expect(RequestContext.fromDict({ tenant: 't1' }).projectId).toBe('t1');
    expect(RequestContext.fromDict({ project: 'p2' }).projectId).toBe('p2');
    const ctx = RequestContext.fromDict({ user: 'u', service_catalog: [{ type: 'compute' }], client_timeout: 5 });
    expect(ctx.userId).toBe('u');
    expect(ctx.extra).toEqual({ service_catalog: [{ type: 'compute' }] });
    expect(ctx.toDict().service_catalog).toEqual([{ type: 'compute' }]);
  });

  it('drops the auth token from notification contexts', () => {
    const dict = new RequestContext({ userId: 'u', authToken: 'secret' }).toNotificationDict();
    expect(dict).not.toHaveProperty('auth_token');
    expect(dict.user_id).toBe('u');
  });
});
