/**
 * uuid4 hex strings (32 lowercase hex digits, as Python's `uuid.uuid4().hex`) for the
 * ids every message carries (`_msg_id`, `_unique_id`). They are cut from a buffer of
 * random bytes filled 256 ids at a time and hex-encoded through a table: on the
 * request path that costs about half of `randomUUID()` with its dashes removed.
 * Each transport owns one source; there is no module state.
 */
import { randomFillSync } from 'node:crypto';

const IDS_PER_FILL = 256;
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A source of random uuid4 hex ids. */
export class UuidSource {
  private readonly pool = Buffer.allocUnsafe(16 * IDS_PER_FILL);
  private offset = this.pool.length;

  /** A new uuid4, as 32 hex digits without dashes. */
  next(): string {
    if (this.offset === this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const b = this.pool;
    const o = this.offset;
    this.offset = o + 16;
    b[o + 6] = (b[o + 6]! & 0x0f) | 0x40; // version 4
    b[o + 8] = (b[o + 8]! & 0x3f) | 0x80; // RFC 4122 variant
    const h = HEX_BYTE;
    return (
      h[b[o]!]! + h[b[o + 1]!]! + h[b[o + 2]!]! + h[b[o + 3]!]! + h[b[o + 4]!]! + h[b[o + 5]!]! + h[b[o + 6]!]! + h[b[o + 7]!]! +
      h[b[o + 8]!]! + h[b[o + 9]!]! + h[b[o + 10]!]! + h[b[o + 11]!]! + h[b[o + 12]!]! + h[b[o + 13]!]! + h[b[o + 14]!]! + h[b[o + 15]!]!
    );
  }
}
