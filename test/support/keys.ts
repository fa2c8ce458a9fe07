import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from '../../src/config';
import { identityKeysFor } from '../../src/crypto/data-converter';
import { createIdentityKeys, type IdentityKeys } from '../../src/crypto/identity-keys';
import { ensureKekFile, localKek } from '../../src/crypto/kek';
import { openSqliteKeyRows } from '../../src/crypto/key-rows-sqlite';

// The tests' identity keys: a key store and a random KEK (0600) in the test state dir, named in
// process.env so that every client, worker and child process (CLI, worker) of the run shares them.

let dir: string | undefined;

/** Sets TUNNUS_KEYS_FILE and TUNNUS_KEK_FILE for this process and its children (once). */
export function ensureTestKeyEnv(): void {
  if (dir) return;
  const state = process.env.TUNNUS_STATE_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-test-'));
  dir = path.join(state, 'keys');
  process.env.TUNNUS_KEYS_FILE ??= path.join(dir, 'identity-keys.sqlite');
  process.env.TUNNUS_KEK_FILE ??= path.join(dir, 'kek');
  if (!process.env.TUNNUS_KEK) ensureKekFile(process.env.TUNNUS_KEK_FILE);
}

/** The identity keys every client and worker of this test process uses. */
export function testKeys(): IdentityKeys {
  ensureTestKeyEnv();
  return identityKeysFor(parseEnv());
}

/** A real key store (SQLite, in memory) under a random KEK: for tests that seal and open. */
export function throwawayIdentityKeys(): IdentityKeys {
  return createIdentityKeys(openSqliteKeyRows({ file: ':memory:' }), localKek(randomBytes(32)));
}
