import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Env } from '../config';
import { kekFromEnv, type KeyEncryptionKey } from './kek';
import { openPostgresKeyRows } from './key-rows-postgres';
import { openSqliteKeyRows } from './key-rows-sqlite';

// Envelope encryption (docs/privacy.md): every identity has its own 256-bit data key, stored only
// wrapped by the key-encryption key (KEK). Payloads in Temporal and personal fields at rest are
// encrypted with the person's data key; destroying it at the end of retention makes all of them
// unreadable at once (crypto-shredding), wherever copies of the ciphertext live.

/** A key that was destroyed (crypto-shredding): what it encrypted can never be read again. */
export class KeyDestroyedError extends Error {
  constructor(
    readonly identityId: string,
    readonly keyId?: string,
  ) {
    super(`key destroyed: identity ${identityId}${keyId ? ` (key ${keyId})` : ''}`);
    this.name = 'KeyDestroyed';
  }
}

/** A key id nobody ever issued (or from another key store): not the same as destroyed. */
export class UnknownKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`unknown key ${keyId}`);
    this.name = 'UnknownKey';
  }
}

export interface DataKey {
  keyId: string;
  key: Buffer;
}

export interface IdentityKeys {
  /** The identity's current data key: created and wrapped on first use; refused once destroyed. */
  dataKeyFor(identityId: string): Promise<DataKey>;
  /** For payloads that carry no personal data. */
  sharedKey(): Promise<DataKey>;
  /** Any key ever issued, current or rotated out; throws KeyDestroyedError once destroyed. */
  keyById(keyId: string): Promise<Buffer>;
  /** A new current key for the identity; the old ones still decrypt. Returns the new key id. */
  rotate(identityId: string): Promise<string>;
  /** Crypto-shredding: every key of the identity, irreversibly; later dataKeyFor refuses. */
  destroy(identityId: string): Promise<void>;
  isDestroyed(identityId: string): Promise<boolean>;
  /**
   * A destroyed identity's new generation (a rehire after the retention delete): a new current
   * key; the destroyed ones stay destroyed. Explicit, so that nothing is ever re-keyed by accident.
   * On a live identity it is a rotation.
   */
  reissue(identityId: string): Promise<string>;
  close(): Promise<void>;
}

/** The identity under which the shared key lives: '@' never occurs in an identity id. */
export const SHARED_IDENTITY = '@shared';

export interface KeyRow {
  keyId: string;
  identityId: string;
  kekId: string;
  /** null once destroyed. */
  wrapped: Buffer | null;
}

export interface KeyHead {
  /** The current key; null once destroyed. */
  keyId: string | null;
  destroyed: boolean;
}

/** What a backend stores: one row per key, one head per identity (current key or tombstone). */
export interface KeyRows {
  head(identityId: string): Promise<KeyHead | undefined>;
  key(keyId: string): Promise<KeyRow | undefined>;
  /** Stores the identity's first key unless it has a head already (a race, or destroyed). */
  createFirst(row: KeyRow & { wrapped: Buffer }): Promise<'created' | 'exists'>;
  /** Adds a key and makes it current, unless the identity is destroyed. */
  addCurrent(row: KeyRow & { wrapped: Buffer }): Promise<'added' | 'destroyed'>;
  /** Wipes every wrapped key of the identity and leaves a tombstone head. */
  destroy(identityId: string): Promise<void>;
  /** Adds a key and makes it current, clearing a tombstone (the wiped keys stay wiped). */
  reissue(row: KeyRow & { wrapped: Buffer }): Promise<void>;
  close(): Promise<void>;
}

export interface IdentityKeysOptions {
  /** How long unwrapped keys are reused in this process (0: never); destroy here evicts at once. */
  cacheMs?: number;
}

/** Random, opaque, and free of '.' (the separator of sealed text). */
const newKeyId = () => `k${randomBytes(12).toString('base64url')}`;

export function createIdentityKeys(
  rows: KeyRows,
  kek: KeyEncryptionKey,
  { cacheMs = 30_000 }: IdentityKeysOptions = {},
): IdentityKeys {
  const keys = new Map<string, { key: Buffer; identityId: string; until: number }>();
  const heads = new Map<string, { keyId: string; until: number }>();
  const fresh = (until: number) => until > Date.now();
  // Expired entries are dropped once per cache period: a cleanup or import touches every person
  // once, and without the sweep each of them would stay in the maps for the process's life.
  let sweepAt = 0;
  function sweep(now: number) {
    if (now < sweepAt) return;
    sweepAt = now + cacheMs;
    for (const [keyId, entry] of keys) if (entry.until <= now) keys.delete(keyId);
    for (const [identityId, head] of heads) if (head.until <= now) heads.delete(identityId);
  }

  async function unwrap(row: KeyRow): Promise<Buffer> {
    if (!row.wrapped) throw new KeyDestroyedError(row.identityId, row.keyId);
    if (row.kekId !== kek.id) {
      throw new Error(`key ${row.keyId} is wrapped by KEK ${row.kekId}, not the configured ${kek.id}`);
    }
    const unwrapped = await kek.unwrap(row.wrapped);
    if (cacheMs <= 0) return unwrapped;
    // A cached key gets memory of its own: the unwrapped one is a slice of Node's shared buffer
    // pool (64 KB since Node 24), and a cached slice keeps its whole pool alive (measured: 64 KB
    // of worker memory per cached person).
    const key = Buffer.alloc(unwrapped.length);
    unwrapped.copy(key);
    unwrapped.fill(0);
    const now = Date.now();
    sweep(now);
    keys.set(row.keyId, { key, identityId: row.identityId, until: now + cacheMs });
    return key;
  }

  async function keyById(keyId: string): Promise<Buffer> {
    const cached = keys.get(keyId);
    if (cached && fresh(cached.until)) return cached.key;
    const row = await rows.key(keyId);
    if (!row) throw new UnknownKeyError(keyId);
    return unwrap(row);
  }

  async function newRow(identityId: string): Promise<KeyRow & { wrapped: Buffer }> {
    return { keyId: newKeyId(), identityId, kekId: kek.id, wrapped: await kek.wrap(randomBytes(32)) };
  }

  async function current(identityId: string): Promise<DataKey> {
    const cached = heads.get(identityId);
    if (cached && fresh(cached.until)) return { keyId: cached.keyId, key: await keyById(cached.keyId) };
    for (let attempt = 0; ; attempt++) {
      const head = await rows.head(identityId);
      if (head?.destroyed) throw new KeyDestroyedError(identityId);
      if (head?.keyId) {
        if (cacheMs > 0) {
          sweep(Date.now());
          heads.set(identityId, { keyId: head.keyId, until: Date.now() + cacheMs });
        }
        return { keyId: head.keyId, key: await keyById(head.keyId) };
      }
      // First use. Another process may create it at the same moment: one head wins, and the
      // loser reads the winner's key on the next pass.
      if (attempt > 0) throw new Error(`identity ${identityId}: no key after creating one`);
      await rows.createFirst(await newRow(identityId));
    }
  }

  function evict(identityId: string) {
    heads.delete(identityId);
    for (const [keyId, entry] of keys) {
      if (entry.identityId !== identityId) continue;
      entry.key.fill(0);
      keys.delete(keyId);
    }
  }

  return {
    dataKeyFor: (identityId) => {
      if (identityId === SHARED_IDENTITY) throw new Error('the shared key is not an identity key');
      return current(identityId);
    },
    sharedKey: () => current(SHARED_IDENTITY),
    keyById,
    async rotate(identityId) {
      const row = await newRow(identityId);
      if ((await rows.addCurrent(row)) === 'destroyed') throw new KeyDestroyedError(identityId);
      heads.delete(identityId);
      return row.keyId;
    },
    async destroy(identityId) {
      if (identityId === SHARED_IDENTITY) throw new Error('the shared key is never destroyed');
      await rows.destroy(identityId);
      evict(identityId);
    },
    async reissue(identityId) {
      if (identityId === SHARED_IDENTITY) throw new Error('the shared key is not an identity key');
      const row = await newRow(identityId);
      await rows.reissue(row);
      heads.delete(identityId);
      return row.keyId;
    },
    async isDestroyed(identityId) {
      return (await rows.head(identityId))?.destroyed ?? false;
    },
    async close() {
      for (const entry of keys.values()) entry.key.fill(0);
      keys.clear();
      heads.clear();
      await rows.close();
    },
  };
}

type KeyEnv = Pick<
  Env,
  | 'RECORD_INDEX_URL'
  | 'TUNNUS_INDEX_FILE'
  | 'TUNNUS_KEYS_FILE'
  | 'TUNNUS_KEK_FILE'
  | 'TUNNUS_KEK'
  | 'TUNNUS_KEY_CACHE_SECONDS'
>;

/** Where the key store and the KEK file are when the configuration does not say. */
export function keyPaths(env: Pick<Env, 'TUNNUS_INDEX_FILE' | 'TUNNUS_KEYS_FILE' | 'TUNNUS_KEK_FILE'>) {
  const dir = path.dirname(path.resolve(env.TUNNUS_INDEX_FILE));
  return {
    keysFile: env.TUNNUS_KEYS_FILE ?? path.join(dir, 'identity-keys.sqlite'),
    kekFile: env.TUNNUS_KEK_FILE ?? path.join(dir, 'kek'),
  };
}

/**
 * The key store the configuration names, in the record index's backend: the PostgreSQL database
 * of RECORD_INDEX_URL, else a SQLite file (0600) beside the index. The KEK from TUNNUS_KEK or
 * TUNNUS_KEK_FILE.
 */
export function openIdentityKeys(env: KeyEnv, kek?: KeyEncryptionKey): IdentityKeys {
  const { keysFile, kekFile } = keyPaths(env);
  const wrapper = kek ?? kekFromEnv({ TUNNUS_KEK_FILE: kekFile, TUNNUS_KEK: env.TUNNUS_KEK });
  const rows = env.RECORD_INDEX_URL
    ? openPostgresKeyRows({ connectionString: env.RECORD_INDEX_URL })
    : openSqliteKeyRows({ file: keysFile });
  return createIdentityKeys(rows, wrapper, { cacheMs: (env.TUNNUS_KEY_CACHE_SECONDS ?? 30) * 1000 });
}
