/**
 * JSON as Python peers write it: strict UTF-8, plus the non-standard `NaN`,
 * `Infinity` and `-Infinity` tokens that Python's json.dumps emits for floats.
 */
import { MalformedMessage, SerializationError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NON_FINITE_MARKER = '\u0000novarpc-nonfinite:';

/**
 * Decodes bytes as UTF-8, refusing invalid sequences instead of replacing them. The
 * native decoder runs first; only a text with U+FFFD in it (a replaced sequence, or a
 * real U+FFFD) is checked again strictly.
 */
export function decodeUtf8(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (!text.includes('\uFFFD')) return text;
  try {
    return utf8.decode(bytes);
  } catch {
    throw new MalformedMessage('message body is not valid UTF-8');
  }
}

/** JSON.parse that also accepts Python's NaN / Infinity / -Infinity tokens. */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
    return JSON.parse(quoteNonFiniteTokens(text), (_key, value) => {
      if (typeof value === 'string' && value.startsWith(NON_FINITE_MARKER)) {
        const token = value.slice(NON_FINITE_MARKER.length);
        return token === 'NaN' ? Number.NaN : token === '-Infinity' ? -Infinity : Infinity;
      }
      return value;
    });
  }
}

/** Rewrites bare NaN/Infinity tokens (outside strings) as marker strings. */
function quoteNonFiniteTokens(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (inString) {
      out += char;
      if (char === '\\') out += text[++i] ?? '';
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') {
      inString = true;
      out += char;
      continue;
    }
    const token = ['-Infinity', 'Infinity', 'NaN'].find((candidate) => text.startsWith(candidate, i));
    if (token) {
      out += JSON.stringify(NON_FINITE_MARKER + token);
      i += token.length - 1;
    } else {
      out += char;
    }
  }
  return out;
}

/**
 * JSON.stringify that turns its failures (BigInt, cycles) into a SerializationError
 * naming `what` (`of` the method, say; joined only when it fails).
 */
export function stringifyJson(value: unknown, what: string, of?: string): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (error) {
    const subject = of === undefined ? what : `${what} of ${of}`;
    throw new SerializationError(`${subject} cannot be sent as JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** A JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
