import { randomBytes } from 'node:crypto';
import { createIdentityKeys, type IdentityKeys } from '../../src/crypto/identity-keys';
import { localKek } from '../../src/crypto/kek';
import { openSqliteKeyRows } from '../../src/crypto/key-rows-sqlite';

/** A real key store (SQLite, in memory) under a random KEK of its own: for tests that seal and open. */
export function throwawayIdentityKeys(): IdentityKeys {
  return createIdentityKeys(openSqliteKeyRows({ file: ':memory:' }), localKek(randomBytes(32)));
}
