import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type CipherGCM,
  type DecipherGCM,
  type KeyObject,
} from 'node:crypto';

// AES-256-GCM for the payload codec, sealed text and the local KEK. The key goes to OpenSSL as a
// KeyObject: handed a Buffer, Node 24 takes a slower path to the same key, and wrapping the Buffer
// first costs less: 31 µs → 14 µs per 600-byte payload, and every payload in and out of Temporal
// is encrypted (bench/joiners.ts: 4 % more joiners per second; bench/README.md, sixth round).

/** GCM's 96-bit nonce and its full 128-bit tag. */
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export type AesKey = Buffer | KeyObject;

const keyObject = (key: AesKey): KeyObject => (Buffer.isBuffer(key) ? createSecretKey(key) : key);

export function gcmCipher(key: AesKey, iv: Buffer, aad: Buffer): CipherGCM {
  return createCipheriv('aes-256-gcm', keyObject(key), iv).setAAD(aad);
}

export function gcmDecipher(key: AesKey, iv: Buffer, aad: Buffer): DecipherGCM {
  return createDecipheriv('aes-256-gcm', keyObject(key), iv).setAAD(aad);
}
