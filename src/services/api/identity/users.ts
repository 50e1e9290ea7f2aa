/**
 * The users of the built-in Identity endpoint, from `[identity] users_file`: one user a
 * line, `USER PASSWORD PROJECT [admin]` (comments start with #). PASSWORD is plaintext or
 * `scrypt$<salt>$<hash>` (base64url salt and key, as {@link hashPassword} makes them:
 * `novarpc identity hash-password`). Comparisons are constant-time.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One user: its single project, and whether it has the admin role there. */
export interface IdentityUser {
  name: string;
  /** The stored password: plaintext or `scrypt$salt$hash`. Never logged. */
  password: string;
  project: string;
  admin: boolean;
}

const SCRYPT_KEY_LENGTH = 32;
const SCRYPT_PREFIX = 'scrypt$';

/** Parses a users file; a bad line is an error naming its number (never its content). */
export function parseUsersFile(text: string): Map<string, IdentityUser> {
  const users = new Map<string, IdentityUser>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const [name, password, project, role, ...rest] = line.split(/\s+/);
    if (!name || !password || !project || rest.length > 0 || (role !== undefined && role !== 'admin')) {
      throw new Error(`users file line ${index + 1}: expected "USER PASSWORD PROJECT [admin]"`);
    }
    if (password.startsWith(SCRYPT_PREFIX) && !parseScrypt(password)) throw new Error(`users file line ${index + 1}: malformed scrypt hash`);
    users.set(name, { name, password, project, admin: role === 'admin' });
  });
  return users;
}

/** Reads and parses a users file. */
export function loadUsersFile(path: string): Map<string, IdentityUser> {
  return parseUsersFile(readFileSync(path, 'utf8'));
}

/** `scrypt$<salt>$<key>` for a password, with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await deriveKey(password, salt);
  return `${SCRYPT_PREFIX}${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether `given` matches the stored password (plaintext or scrypt), in constant time. */
export async function verifyPassword(stored: string, given: string): Promise<boolean> {
  const hashed = parseScrypt(stored);
  if (hashed) return timingSafeEqual(await deriveKey(given, hashed.salt), hashed.key);
  // Plaintext: compare digests, so the comparison neither leaks the length nor short-circuits.
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(stored), digest(given));
}

function parseScrypt(stored: string): { salt: Buffer; key: Buffer } | undefined {
  if (!stored.startsWith(SCRYPT_PREFIX)) return undefined;
  const [salt, key, ...rest] = stored.slice(SCRYPT_PREFIX.length).split('$');
  if (!salt || !key || rest.length > 0) return undefined;
  const parsed = { salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') };
  return parsed.salt.length >= 8 && parsed.key.length === SCRYPT_KEY_LENGTH ? parsed : undefined;
}

function deriveKey(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, SCRYPT_KEY_LENGTH, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
