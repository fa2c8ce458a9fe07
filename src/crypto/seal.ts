import { randomBytes } from 'node:crypto';
import { gcmCipher, gcmDecipher, IV_BYTES, TAG_BYTES } from './aes-gcm';
import type { IdentityKeys } from './identity-keys';

// Personal fields at rest (read model, record index, import staging) sealed with the person's data
// key: self-describing text `tk1.<keyId>.<iv>.<ciphertext+tag>` (base64url parts), so any reader
// with the key store opens it, and nobody can once the person's keys are destroyed.

const PREFIX = 'tk1';

/** AES-256-GCM; the version and key id are authenticated (a sealed value cannot be re-labelled). */
export function sealWithKey(keyId: string, key: Buffer, plaintext: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = gcmCipher(key, iv, Buffer.from(`${PREFIX}.${keyId}`));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}.${keyId}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/** Whether a string is sealed text (rather than a value written before sealing). */
export function isSealed(value: string): boolean {
  return value.startsWith(`${PREFIX}.`) && value.split('.').length === 4;
}

/** The key id of sealed text. */
export function sealedKeyId(sealed: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== PREFIX || !parts[1]) throw new Error('not sealed text');
  return parts[1];
}

export async function sealText(keys: IdentityKeys, identityId: string, plaintext: string): Promise<string> {
  const { keyId, key } = await keys.dataKeyFor(identityId);
  return sealWithKey(keyId, key, Buffer.from(plaintext, 'utf8'));
}

/** Throws KeyDestroyedError when the person's keys are destroyed; any tampering fails too. */
export async function openText(keys: IdentityKeys, sealed: string): Promise<string> {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== PREFIX) throw new Error('not sealed text');
  const [, keyId, ivText, bodyText] = parts as [string, string, string, string];
  const key = await keys.keyById(keyId);
  const iv = Buffer.from(ivText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new Error('not sealed text');
  const decipher = gcmDecipher(key, iv, Buffer.from(`${PREFIX}.${keyId}`));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  return Buffer.concat([
    decipher.update(body.subarray(0, body.length - TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
}
