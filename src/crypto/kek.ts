import { createHash, createSecretKey, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config';
import { gcmCipher, gcmDecipher, IV_BYTES, TAG_BYTES } from './aes-gcm';

// The key-encryption key (KEK): it wraps every per-identity data key, and is the one secret that
// never sits in the key store. Locally it is 32 bytes from a file or the environment; in
// production a key vault implements the same interface (docs/privacy.md: Azure Key Vault's
// wrapKey/unwrapKey, where the key never leaves the vault or the HSM).

export interface KeyEncryptionKey {
  /** Names the KEK that wrapped a data key, so a store can hold keys wrapped by several (rotation). */
  readonly id: string;
  wrap(dek: Buffer): Promise<Buffer>;
  /** Throws when `wrapped` was not made by this KEK or was altered. */
  unwrap(wrapped: Buffer): Promise<Buffer>;
}

/** A KEK held in memory: AES-256-GCM, `iv | tag | ciphertext`. */
export function localKek(kek: Buffer): KeyEncryptionKey {
  if (kek.length !== 32) throw new Error('a key-encryption key is 32 bytes');
  // The id is a fingerprint of the key, not the key: it says which KEK, and reveals nothing.
  const id = `local-${createHash('sha256').update(kek).digest('hex').slice(0, 16)}`;
  const secret = createSecretKey(kek);
  const aad = Buffer.from(`tunnus-kek:${id}`);
  return {
    id,
    async wrap(dek) {
      const iv = randomBytes(IV_BYTES);
      const cipher = gcmCipher(secret, iv, aad);
      const body = Buffer.concat([cipher.update(dek), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    async unwrap(wrapped) {
      const iv = wrapped.subarray(0, IV_BYTES);
      const tag = wrapped.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
      const decipher = gcmDecipher(secret, iv, aad);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(wrapped.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    },
  };
}

/** 32 raw bytes, or their base64 (a file may hold either; the environment holds base64). */
function parseKekBytes(bytes: Buffer, variable: string): Buffer {
  if (bytes.length === 32) return bytes;
  const decoded = Buffer.from(bytes.toString('utf8').trim(), 'base64');
  if (decoded.length === 32) return decoded;
  throw new ConfigError([`${variable}: must be 32 random bytes (raw or base64)`]);
}

export interface KekSettings {
  /** Resolved by the caller (openIdentityKeys: beside the index when unset). */
  TUNNUS_KEK_FILE: string;
  TUNNUS_KEK?: string | undefined;
}

/** The KEK the configuration names: TUNNUS_KEK (base64) when set, else the file TUNNUS_KEK_FILE. */
export function kekFromEnv(env: KekSettings): KeyEncryptionKey {
  if (env.TUNNUS_KEK) return localKek(parseKekBytes(Buffer.from(env.TUNNUS_KEK), 'TUNNUS_KEK'));
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(env.TUNNUS_KEK_FILE);
  } catch {
    throw new ConfigError([
      `TUNNUS_KEK_FILE: cannot read ${env.TUNNUS_KEK_FILE} (npm start and the tests create one; production sets TUNNUS_KEK_FILE or TUNNUS_KEK)`,
    ]);
  }
  return localKek(parseKekBytes(bytes, 'TUNNUS_KEK_FILE'));
}

/**
 * Creates a random KEK file (0600) unless one exists: for the sandbox and the tests only. A
 * production KEK is made once, by the operator or the vault, never on start-up — a fresh KEK
 * would silently make every existing key unreadable.
 */
export function ensureKekFile(file: string): string {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  try {
    fs.writeFileSync(file, randomBytes(32), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    fs.chmodSync(file, 0o600);
  }
  return file;
}
