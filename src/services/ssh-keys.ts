/**
 * SSH and x509 public keys as Nova handles key pairs: generation (RSA 2048, the public key
 * in OpenSSH format, the private key as PEM), validation of an uploaded key, and the
 * fingerprint Nova shows (MD5 of the decoded key blob for ssh, SHA-1 of the DER for x509,
 * as colon-separated lowercase hex).
 */
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';

/** A generated key pair. */
export interface GeneratedKeyPair {
  publicKey: string;
  privateKey: string;
  fingerprint: string;
}

/** Why a public key was refused. */
export class InvalidKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidKeyError';
  }
}

const SSH_TYPES = new Set(['ssh-rsa', 'ssh-dss', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']);

/** A new RSA key pair, its public half in OpenSSH format with `comment`. */
export function generateSshKeyPair(comment = 'Generated-by-Nova'): GeneratedKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const jwk = publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), sshMpint(base64url(jwk.e!)), sshMpint(base64url(jwk.n!))]);
  return {
    publicKey: `ssh-rsa ${blob.toString('base64')} ${comment}`,
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    fingerprint: colonHex(createHash('md5').update(blob).digest()),
  };
}

/** The fingerprint of a public key of `type`; InvalidKeyError when it is not one. */
export function keyFingerprint(publicKey: string, type: 'ssh' | 'x509'): string {
  return type === 'x509' ? x509Fingerprint(publicKey) : sshFingerprint(publicKey);
}

function sshFingerprint(publicKey: string): string {
  const [keyType, data] = publicKey.trim().split(/\s+/);
  if (!keyType || !data || !SSH_TYPES.has(keyType) || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) {
    throw new InvalidKeyError('Keypair data is invalid: failed to generate fingerprint');
  }
  const blob = Buffer.from(data, 'base64');
  const declared = blob.length >= 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() : '';
  if (declared !== keyType) throw new InvalidKeyError('Keypair data is invalid: failed to generate fingerprint');
  return colonHex(createHash('md5').update(blob).digest());
}

function x509Fingerprint(pem: string): string {
  try {
    return colonHex(createHash('sha1').update(new X509Certificate(pem).raw).digest());
  } catch {
    throw new InvalidKeyError('Keypair data is invalid: failed to generate fingerprint');
  }
}

function colonHex(digest: Buffer): string {
  return [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

function base64url(text: string): Buffer {
  return Buffer.from(text, 'base64url');
}

function sshString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

/** An SSH mpint: big-endian, a leading zero byte when the high bit is set. */
function sshMpint(value: Buffer): Buffer {
  const positive = value[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value;
  return sshString(positive);
}
