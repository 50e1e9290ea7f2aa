/**
 * Decodes an OTLP/HTTP protobuf trace export (`ExportTraceServiceRequest`,
 * opentelemetry-proto `collector/trace/v1`) into the same shape as its JSON mapping
 * (ids as lowercase hex, attributes as `{ key, value: { stringValue | intValue | ... } }`),
 * so one receiver handles both protocols. A small reader of the protobuf wire format:
 * only the fields a trace test looks at are interpreted, the others are skipped.
 */

type Field = { wire: 0; value: bigint } | { wire: 1; value: Buffer } | { wire: 2; value: Buffer } | { wire: 5; value: Buffer };

/** The fields of one message, by field number, in order. */
function readFields(buffer: Buffer): Map<number, Field[]> {
  const fields = new Map<number, Field[]>();
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (offset >= buffer.length) throw new Error('protobuf: truncated varint');
      const byte = buffer[offset++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      if (shift > 63n) throw new Error('protobuf: varint too long');
    }
  };
  const take = (length: number): Buffer => {
    if (offset + length > buffer.length) throw new Error('protobuf: truncated field');
    const slice = buffer.subarray(offset, offset + length);
    offset += length;
    return slice;
  };
  while (offset < buffer.length) {
    const tag = Number(varint());
    const number = tag >>> 3;
    const wire = tag & 7;
    let field: Field;
    if (wire === 0) field = { wire, value: varint() };
    else if (wire === 1) field = { wire, value: take(8) };
    else if (wire === 2) field = { wire, value: take(Number(varint())) };
    else if (wire === 5) field = { wire, value: take(4) };
    else throw new Error(`protobuf: unsupported wire type ${wire} (field ${number})`);
    const list = fields.get(number) ?? [];
    list.push(field);
    fields.set(number, list);
  }
  return fields;
}

const messages = (fields: Map<number, Field[]>, number: number): Map<number, Field[]>[] =>
  (fields.get(number) ?? []).map((field) => readFields(field.value as Buffer));
const message = (fields: Map<number, Field[]>, number: number): Map<number, Field[]> | undefined => messages(fields, number)[0];
const bytes = (fields: Map<number, Field[]>, number: number): Buffer | undefined => fields.get(number)?.[0]?.value as Buffer | undefined;
const text = (fields: Map<number, Field[]>, number: number): string | undefined => bytes(fields, number)?.toString('utf8');
const hex = (fields: Map<number, Field[]>, number: number): string => bytes(fields, number)?.toString('hex') ?? '';
const integer = (fields: Map<number, Field[]>, number: number): number | undefined => {
  const value = fields.get(number)?.[0]?.value;
  return typeof value === 'bigint' ? Number(BigInt.asIntN(64, value)) : undefined;
};

/** AnyValue (1 string, 2 bool, 3 int, 4 double) as its JSON mapping. */
function anyValue(fields: Map<number, Field[]> | undefined): Record<string, unknown> {
  if (fields === undefined) return {};
  if (fields.has(1)) return { stringValue: text(fields, 1) };
  if (fields.has(2)) return { boolValue: integer(fields, 2) === 1 };
  if (fields.has(3)) return { intValue: String(integer(fields, 3)) };
  if (fields.has(4)) return { doubleValue: bytes(fields, 4)!.readDoubleLE(0) };
  return {};
}

/** KeyValue list (1 key, 2 value). */
function attributes(fields: Map<number, Field[]>, number: number): Array<{ key: string; value: Record<string, unknown> }> {
  return messages(fields, number).map((keyValue) => ({ key: text(keyValue, 1) ?? '', value: anyValue(message(keyValue, 2)) }));
}

/** An `ExportTraceServiceRequest` in protobuf, as the JSON mapping of its resource spans. */
export function decodeTraceExport(body: Buffer): { resourceSpans: unknown[] } {
  const request = readFields(body);
  return {
    resourceSpans: messages(request, 1).map((resourceSpans) => ({
      resource: { attributes: attributes(message(resourceSpans, 1) ?? new Map(), 1) },
      scopeSpans: messages(resourceSpans, 2).map((scopeSpans) => ({
        spans: messages(scopeSpans, 2).map((span) => {
          const status = message(span, 15);
          return {
            traceId: hex(span, 1),
            spanId: hex(span, 2),
            parentSpanId: hex(span, 4),
            name: text(span, 5) ?? '',
            kind: integer(span, 6) ?? 0,
            attributes: attributes(span, 9),
            events: messages(span, 11).map((event) => ({ name: text(event, 2) ?? '', attributes: attributes(event, 3) })),
            links: messages(span, 13).map((link) => ({ traceId: hex(link, 1), spanId: hex(link, 2), attributes: attributes(link, 4) })),
            status: status === undefined ? {} : { code: integer(status, 3) ?? 0, ...(status.has(2) ? { message: text(status, 2) } : {}) },
          };
        }),
      })),
    })),
  };
}
