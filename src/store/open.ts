import type { Env } from '../config';
import { openIdentityKeys, type IdentityKeys } from '../crypto/identity-keys';
import type { RecordStore } from './import-staging';
import { openPostgresIndex } from './postgres-index';
import { keysSealer } from './read-model';
import { sealRecordStore } from './sealed-store';
import { openSqliteIndex } from './sqlite-index';

// The key settings all have defaults (beside the index), so callers may pass less.
type StoreEnv = Pick<Env, 'RECORD_INDEX_URL' | 'TUNNUS_INDEX_FILE'> &
  Partial<Pick<Env, 'TUNNUS_KEYS_FILE' | 'TUNNUS_KEK_FILE' | 'TUNNUS_KEK' | 'TUNNUS_KEY_CACHE_SECONDS'>>;

/**
 * The record index the configuration names: PostgreSQL when RECORD_INDEX_URL is set (production,
 * shared by every API instance and worker), else the SQLite file TUNNUS_INDEX_FILE (one host).
 * Personal fields sealed with each person's data key (sealed-store.ts): the caller's key store
 * when it has one open (it keeps owning it), else the one the configuration names.
 */
export function openRecordIndex(env: StoreEnv, keys?: IdentityKeys): RecordStore {
  const own = () =>
    openIdentityKeys({ ...env, TUNNUS_KEY_CACHE_SECONDS: env.TUNNUS_KEY_CACHE_SECONDS ?? 30 });
  const sealWith = keys ?? own();
  // The identity read model seals its records column with the same keys (contract B).
  const sealer = keysSealer(sealWith);
  const store = env.RECORD_INDEX_URL
    ? openPostgresIndex({ connectionString: env.RECORD_INDEX_URL, sealer })
    : openSqliteIndex({ file: env.TUNNUS_INDEX_FILE, sealer });
  return sealRecordStore(store, sealWith, { ownsKeys: !keys });
}

/** Where the index lives, for start-up logs: the backend and host, never the credentials. */
export function describeRecordIndex(env: Pick<Env, 'RECORD_INDEX_URL' | 'TUNNUS_INDEX_FILE'>): string {
  if (!env.RECORD_INDEX_URL) return `sqlite ${env.TUNNUS_INDEX_FILE}`;
  try {
    const url = new URL(env.RECORD_INDEX_URL);
    return `postgresql ${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return 'postgresql';
  }
}
