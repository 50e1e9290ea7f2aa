/**
 * `novarpc identity hash-password`: reads a password from stdin (first line, so it stays
 * out of shell history and `ps`) and prints the `scrypt$salt$hash` form for a users file.
 */
import type { Readable, Writable } from 'node:stream';
import { hashPassword } from '../services/api/identity/users.js';

/** Reads stdin's first line, hashes it and writes the hash; returns the exit code. */
export async function hashPasswordCommand(input: Readable, out: Writable, err: Writable): Promise<number> {
  let text = '';
  for await (const chunk of input) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (!password) {
    err.write('novarpc identity hash-password: give the password on stdin (e.g. printf %s "$PW" | novarpc identity hash-password)\n');
    return 2;
  }
  out.write(`${await hashPassword(password)}\n`);
  return 0;
}
