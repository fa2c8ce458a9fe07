import type Database from 'better-sqlite3';
import type { IdentityRow } from '../domain/identity-row';
import {
  fromStored,
  fromStoredAll,
  plainSealer,
  toStored,
  type FieldSealer,
  type IdentityReadModel,
  type StoredRow,
} from './read-model';

// The identity read model in the record index's SQLite file (contract C; src/store/read-model.ts).

export const SQLITE_READ_MODEL_SCHEMA = `
  CREATE TABLE IF NOT EXISTS identity_read_model (
    identity_id TEXT PRIMARY KEY,
    chain       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    stage       TEXT NOT NULL,
    phase       TEXT,
    managed     INTEGER NOT NULL,
    start_date  TEXT,
    end_date    TEXT,
    body        TEXT NOT NULL,
    personal    TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS identity_read_model_phase ON identity_read_model (phase, identity_id);
`;

/** isActiveIdentityRow (src/domain/managed-identity.ts) in SQL; `?` is today, twice. */
export const SQLITE_ACTIVE_ROW = `managed = 1 AND (start_date IS NULL OR start_date <= ?)
  AND (end_date IS NULL OR end_date >= ?)`;

export function createSqliteReadModel(
  db: Database.Database,
  sealer: FieldSealer = plainSealer,
): IdentityReadModel {
  db.exec(SQLITE_READ_MODEL_SCHEMA);
  // The row-value comparison keeps the newer of the two: a later chain, or the same chain and a
  // version at least as high (equal rewrites: idempotent, and how a rebuild repairs a hand edit).
  const upsert = db.prepare<StoredRow>(
    `INSERT INTO identity_read_model
       (identity_id, chain, version, updated_at, stage, phase, managed, start_date, end_date, body, personal)
     VALUES (@identity_id, @chain, @version, @updated_at, @stage, @phase, @managed, @start_date, @end_date, @body, @personal)
     ON CONFLICT (identity_id) DO UPDATE SET
       chain = excluded.chain, version = excluded.version, updated_at = excluded.updated_at,
       stage = excluded.stage, phase = excluded.phase, managed = excluded.managed,
       start_date = excluded.start_date, end_date = excluded.end_date, body = excluded.body,
       personal = excluded.personal
     WHERE (excluded.chain, excluded.version) >= (identity_read_model.chain, identity_read_model.version)`,
  );
  const getOne = db.prepare<[string], StoredRow>('SELECT * FROM identity_read_model WHERE identity_id = ?');
  const getSome = db.prepare<[string], StoredRow>(
    'SELECT * FROM identity_read_model WHERE identity_id IN (SELECT value FROM json_each(?))',
  );
  const pageAll = db.prepare<[string, number], StoredRow>(
    'SELECT * FROM identity_read_model WHERE identity_id > ? ORDER BY identity_id LIMIT ?',
  );
  const pagePhases = db.prepare<[string, string, number], StoredRow>(
    `SELECT * FROM identity_read_model WHERE identity_id > ? AND phase IN (SELECT value FROM json_each(?))
     ORDER BY identity_id LIMIT ?`,
  );
  const managed = db.prepare<[], { n: number }>(
    'SELECT count(*) AS n FROM identity_read_model WHERE managed = 1',
  );
  const active = db.prepare<[string, string], { n: number }>(
    `SELECT count(*) AS n FROM identity_read_model WHERE ${SQLITE_ACTIVE_ROW}`,
  );
  const del = db.prepare<[string]>('DELETE FROM identity_read_model WHERE identity_id = ?');

  return {
    async write(row) {
      const stored = await toStored(row, sealer);
      return upsert.run(stored).changes > 0 ? 'written' : 'stale';
    },
    async get(identityId) {
      const row = getOne.get(identityId);
      return row && fromStored(row, sealer);
    },
    async getMany(identityIds) {
      const out = new Map<string, IdentityRow>();
      if (identityIds.length === 0) return out;
      for (const row of await fromStoredAll(getSome.all(JSON.stringify(identityIds)), sealer))
        out.set(row.identityId, row);
      return out;
    },
    async page({ after = '', limit, phases }) {
      const rows = phases ? pagePhases.all(after, JSON.stringify(phases), limit) : pageAll.all(after, limit);
      return fromStoredAll(rows, sealer);
    },
    async countManaged() {
      return managed.get()!.n;
    },
    async countActive(today) {
      return active.get(today, today)!.n;
    },
    async remove(identityId) {
      del.run(identityId);
    },
  };
}
