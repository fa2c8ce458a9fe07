import type { Env } from '../config';
import type { RecordStore } from './import-staging';
import { openPostgresIndex } from './postgres-index';
import { openSqliteIndex } from './sqlite-index';

/**
 * The record index the configuration names: PostgreSQL when RECORD_INDEX_URL is set (production,
 * shared by every API instance and worker), else the SQLite file TUNNUS_INDEX_FILE (one host).
 */
export function openRecordIndex(env: Pick<Env, 'RECORD_INDEX_URL' | 'TUNNUS_INDEX_FILE'>): RecordStore {
  if (env.RECORD_INDEX_URL) return openPostgresIndex({ connectionString: env.RECORD_INDEX_URL });
  return openSqliteIndex({ file: env.TUNNUS_INDEX_FILE });
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
