import type pg from 'pg';
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

// The identity read model in the record index's PostgreSQL database (contract C;
// src/store/read-model.ts). Same contract as SQLite's (test/integration/read-model.test.ts).

// COLLATE "C": byte order, so keyset paging is the order SQLite and JavaScript compare in.
export const POSTGRES_READ_MODEL_SCHEMA = `
  CREATE TABLE IF NOT EXISTS identity_read_model (
    identity_id text COLLATE "C" PRIMARY KEY,
    chain       text COLLATE "C" NOT NULL,
    version     bigint NOT NULL,
    updated_at  text NOT NULL,
    stage       text NOT NULL,
    phase       text,
    managed     integer NOT NULL,
    start_date  text,
    end_date    text,
    body        text NOT NULL,
    personal    text NOT NULL
  );
  CREATE INDEX IF NOT EXISTS identity_read_model_phase ON identity_read_model (phase, identity_id);
`;

/** isActiveIdentityRow (src/domain/managed-identity.ts) in SQL; `$1` is today. */
export const POSTGRES_ACTIVE_ROW = `managed = 1 AND (start_date IS NULL OR start_date <= $1)
  AND (end_date IS NULL OR end_date >= $1)`;

type Query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/** Over the record index's pool; `query` ensures the schema (POSTGRES_READ_MODEL_SCHEMA included). */
export function createPostgresReadModel(query: Query, sealer: FieldSealer = plainSealer): IdentityReadModel {
  return {
    async write(row) {
      const s = await toStored(row, sealer);
      // The newer of the two stays: a later chain, or the same chain and a version at least as high.
      const { rowCount } = await query(
        `INSERT INTO identity_read_model
           (identity_id, chain, version, updated_at, stage, phase, managed, start_date, end_date, body, personal)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (identity_id) DO UPDATE SET
           chain = excluded.chain, version = excluded.version, updated_at = excluded.updated_at,
           stage = excluded.stage, phase = excluded.phase, managed = excluded.managed,
           start_date = excluded.start_date, end_date = excluded.end_date, body = excluded.body,
           personal = excluded.personal
         WHERE (excluded.chain, excluded.version) >= (identity_read_model.chain, identity_read_model.version)`,
        [
          s.identity_id,
          s.chain,
          s.version,
          s.updated_at,
          s.stage,
          s.phase,
          s.managed,
          s.start_date,
          s.end_date,
          s.body,
          s.personal,
        ],
      );
      return (rowCount ?? 0) > 0 ? 'written' : 'stale';
    },
    async get(identityId) {
      const { rows } = await query<StoredRow>('SELECT * FROM identity_read_model WHERE identity_id = $1', [
        identityId,
      ]);
      return rows[0] && fromStored(rows[0], sealer);
    },
    async getMany(identityIds) {
      const out = new Map<string, IdentityRow>();
      if (identityIds.length === 0) return out;
      const { rows } = await query<StoredRow>(
        'SELECT * FROM identity_read_model WHERE identity_id = ANY($1::text[])',
        [identityIds],
      );
      for (const row of await fromStoredAll(rows, sealer)) out.set(row.identityId, row);
      return out;
    },
    async page({ after = '', limit, phases }) {
      const { rows } = phases
        ? await query<StoredRow>(
            `SELECT * FROM identity_read_model WHERE identity_id > $1 AND phase = ANY($2::text[])
             ORDER BY identity_id LIMIT $3`,
            [after, phases, limit],
          )
        : await query<StoredRow>(
            'SELECT * FROM identity_read_model WHERE identity_id > $1 ORDER BY identity_id LIMIT $2',
            [after, limit],
          );
      return fromStoredAll(rows, sealer);
    },
    async countManaged() {
      const { rows } = await query<{ n: string }>(
        'SELECT count(*) AS n FROM identity_read_model WHERE managed = 1',
      );
      return Number(rows[0]!.n);
    },
    async countActive(today) {
      const { rows } = await query<{ n: string }>(
        `SELECT count(*) AS n FROM identity_read_model WHERE ${POSTGRES_ACTIVE_ROW}`,
        [today],
      );
      return Number(rows[0]!.n);
    },
    async remove(identityId) {
      await query('DELETE FROM identity_read_model WHERE identity_id = $1', [identityId]);
    },
  };
}
