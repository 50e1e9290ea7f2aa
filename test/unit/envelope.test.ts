/**
 * The fast envelope encoders against the reference form (JSON.stringify of the inner
 * document in oslo's key order, then of the envelope), byte for byte, over generated
 * messages: unicode (astral, combining, lone surrogates), escapes, control characters,
 * nesting, large values, and contexts encoded once and reused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestContext } from '../../src/rpc/context.js';
import { encodeContext, encodeReply, encodeRequest, referenceReplyBody, referenceRequestBody } from '../../src/rpc/wire/envelope.js';

const MAX = 64 << 20;
const hex32 = fc.stringMatching(/^[0-9a-f]{32}$/);
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const tricky = fc.constantFrom('"', '\\', '\n', '\r', '\t', '\u0000', '\u001f', '\u2028', '\u2029', '</script>', 'é', 'e\u0301', '😀', '\uffff');
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.oneof(tricky, loneSurrogate, fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 12 }).map((parts) => parts.join('')),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), fc.array(tie('node'), { maxLength: 5 }), fc.dictionary(text, tie('node'), { maxKeys: 5 })),
})).node;
const args = fc.dictionary(text, value, { maxKeys: 6 });
const context = fc.dictionary(text, value, { maxKeys: 6 });
const request = fc.record({
  method: text.filter((name) => name !== ''),
  args,
  namespace: fc.option(text, { nil: undefined }),
  version: fc.option(fc.constantFrom('1.0', '2.3', '5.12.1'), { nil: undefined }),
  call: fc.option(fc.record({ msgId: hex32, replyQueue: text, callMonitorTimeout: fc.option(fc.integer({ min: 0, max: 600 }), { nil: null }) }), { nil: undefined }),
  uniqueId: hex32,
});

describe('envelope: the fast encoders give the reference bytes', () => {
  it('requests (casts and calls), with the context escaped once or per message', () => {
    fc.assert(
      fc.property(request, context, (fields, ctx) => {
        const reference = referenceRequestBody(fields, ctx);
        const encoded = encodeContext(ctx);
        expect(encodeRequest({ ...fields, ...encoded }, MAX).equals(reference)).toBe(true);
        expect(encodeRequest({ ...fields, contextEntries: encoded.contextEntries }, MAX).equals(reference)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('replies: results, failures and heartbeats', () => {
    const reply = fc.record({ result: fc.option(value, { nil: undefined }), failure: fc.option(text, { nil: null }), ending: fc.boolean() });
    fc.assert(
      fc.property(hex32, reply, hex32, (msgId, fields, uniqueId) => {
        expect(encodeReply(msgId, fields, MAX, uniqueId).equals(referenceReplyBody(msgId, fields, uniqueId))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('a large message and a real RequestContext', () => {
    const ctx = new RequestContext({ userId: 'ü\u2028"', projectId: 'p', roles: ['a\\b', '😀'], extra: { nested: { deep: [1, { x: '\u0000' }] } } });
    const big = { blob: 'x"\\é😀'.repeat(200_000), list: Array.from({ length: 5000 }, (_, i) => ({ i, s: `v${i}\n` })) };
    const fields = { method: 'run_instance', args: big, version: '5.0', call: { msgId: 'a'.repeat(32), replyQueue: 'reply_q', callMonitorTimeout: 30 }, uniqueId: 'b'.repeat(32) };
    const reference = referenceRequestBody(fields, ctx.toDict());
    expect(encodeRequest({ ...fields, ...ctx.wireEntries() }, MAX).equals(reference)).toBe(true);
    expect(reference.length).toBeGreaterThan(1_000_000);
  });
});
