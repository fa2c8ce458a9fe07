import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createIdentityKeys } from '../../src/crypto/identity-keys';
import { localKek } from '../../src/crypto/kek';
import { openSqliteKeyRows } from '../../src/crypto/key-rows-sqlite';

// The worker keeps unwrapped data keys cached for a while: each must cost its 32 bytes, not the
// 64 KB buffer pool it was unwrapped into (measured: 64 KB of worker memory per cached person).

describe('identity keys: the cache holds only the keys', () => {
  it('a cached key has memory of its own, not a slice of the shared buffer pool', async () => {
    const keys = createIdentityKeys(openSqliteKeyRows({ file: ':memory:' }), localKek(randomBytes(32)));
    try {
      const first = await keys.dataKeyFor('E1001');
      const again = await keys.dataKeyFor('E1001');
      assert.equal(again.key, first.key, 'served from the cache');
      assert.equal(first.key.length, 32);
      assert.equal(first.key.buffer.byteLength, 32);
      assert.equal((await keys.keyById(first.keyId)).buffer.byteLength, 32);
    } finally {
      await keys.close();
    }
  });

  it('a key that left the cache is read again, the same key', async () => {
    const keys = createIdentityKeys(openSqliteKeyRows({ file: ':memory:' }), localKek(randomBytes(32)), {
      cacheMs: 20,
    });
    try {
      const first = await keys.dataKeyFor('E1001');
      const copy = Buffer.from(first.key);
      await new Promise((r) => setTimeout(r, 40));
      // Another identity's first use sweeps the expired entries.
      await keys.dataKeyFor('E1002');
      const again = await keys.dataKeyFor('E1001');
      assert.notEqual(again.key, first.key, 'unwrapped again after expiry');
      assert.deepEqual(again, { keyId: first.keyId, key: copy });
    } finally {
      await keys.close();
    }
  });
});
