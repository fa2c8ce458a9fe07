import assert from 'node:assert/strict';
import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { gcmCipher, gcmDecipher, type AesKey } from '../../src/crypto/aes-gcm';

// The one AES-256-GCM helper under the codec, sealed text and the KEK: a key given as a Buffer or
// as a KeyObject is the same key, and what Node's plain Buffer path wrote before still opens.

const key = randomBytes(32);
const iv = randomBytes(12);
const aad = Buffer.from('tk1.k-test');
const plain = Buffer.from('{"employeeId":"E1001"}');

function seal(c: ReturnType<typeof gcmCipher>) {
  return { body: Buffer.concat([c.update(plain), c.final()]), tag: c.getAuthTag() };
}

function open(k: AesKey, body: Buffer, tag: Buffer, withAad = aad) {
  const d = gcmDecipher(k, iv, withAad);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(body), d.final()]);
}

describe('aes-gcm', () => {
  it('opens, with either key form, what the plain Buffer-key cipher sealed', () => {
    const before = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
    const { body, tag } = seal(before);
    assert.deepEqual(open(key, body, tag), plain);
    assert.deepEqual(open(createSecretKey(key), body, tag), plain);
  });

  it('seals the same bytes from a Buffer and from a KeyObject', () => {
    const a = seal(gcmCipher(key, iv, aad));
    const b = seal(gcmCipher(createSecretKey(key), iv, aad));
    assert.deepEqual(a.body, b.body);
    assert.deepEqual(a.tag, b.tag);
  });

  it('refuses another key or other authenticated data', () => {
    const { body, tag } = seal(gcmCipher(key, iv, aad));
    assert.throws(() => open(randomBytes(32), body, tag), /authenticate/);
    assert.throws(() => open(key, body, tag, Buffer.from('tk1.k-other')), /authenticate/);
  });
});
