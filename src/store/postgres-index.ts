import pg from 'pg';
import type { Source } from '../workflows/messages';
import { STAGE_CHUNK, type RecordStore, type StagedRow } from './import-staging';
import type { IndexEntry, IndexWrite } from './record-index';

// The record index on PostgreSQL, for production: several API instances and workers share one
// database. Same contract as the SQLite index (test/integration/record-index.test.ts runs both).

export interface PostgresIndexOptions {
  /** postgres://user:password@host:port/database — never logged. */
  connectionString: string;
  /** Connections in the pool; intake is point reads and batched writes, so a few suffice. */
  max?: number;
}

/** Rows per upsert statement: one round trip per chunk, all chunks in one transaction. */
const UPSERT_CHUNK = 5000;

// COLLATE "C": byte order, so keyset paging in all() is the same order as SQLite's and as
// JavaScript's string comparison, whatever the database's default collation is.
const schema = `
  CREATE TABLE IF NOT EXISTS record_index (
    employee_id text COLLATE "C" PRIMARY KEY,
    fingerprint text NOT NULL,
    source      text NOT NULL,
    updated_at  timestamptz NOT NULL
  );
  CREATE TABLE IF NOT EXISTS import_staging (
    import_id text NOT NULL,
    seq       integer NOT NULL,
    line      integer NOT NULL,
    record    text NOT NULL,
    PRIMARY KEY (import_id, seq)
  );
`;
// Any constant shared by every Tunnus process: serialises CREATE TABLE IF NOT EXISTS, which races
// (duplicate pg_type) when two processes create the same table at once.
const SCHEMA_LOCK = 0x74756e6e; // "tunn"

interface Row {
  employee_id: string;
  fingerprint: string;
  source: Source;
  updated_at: Date;
}

const toEntry = (row: Row): IndexEntry => ({
  employeeId: row.employee_id,
  fingerprint: row.fingerprint,
  source: row.source,
  updatedAt: row.updated_at.toISOString(),
});

export function openPostgresIndex({ connectionString, max = 10 }: PostgresIndexOptions): RecordStore {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 5_000 });
  // An idle client losing its connection (server restart) must not crash the process; the next
  // query gets a fresh connection or a clear error.
  pool.on('error', () => undefined);

  let ready: Promise<void> | undefined;
  const ensureSchema = () =>
    (ready ??= transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await c.query(schema);
    }).catch((err: unknown) => {
      ready = undefined; // try again on the next call (the database may come up later)
      throw err;
    }));

  async function transaction<T>(body: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const result = await body(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  const query = async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    await ensureSchema();
    return pool.query<R>(text, values);
  };

  return {
    async get(employeeId) {
      const { rows } = await query<Row>('SELECT * FROM record_index WHERE employee_id = $1', [employeeId]);
      return rows[0] && toEntry(rows[0]);
    },
    async getMany(employeeIds) {
      const out = new Map<string, IndexEntry>();
      if (employeeIds.length === 0) return out;
      const { rows } = await query<Row>('SELECT * FROM record_index WHERE employee_id = ANY($1::text[])', [
        employeeIds,
      ]);
      for (const row of rows) out.set(row.employee_id, toEntry(row));
      return out;
    },
    async put(employeeId, fingerprint, source) {
      await query(
        `INSERT INTO record_index (employee_id, fingerprint, source, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (employee_id) DO UPDATE
           SET fingerprint = excluded.fingerprint, source = excluded.source, updated_at = excluded.updated_at`,
        [employeeId, fingerprint, source],
      );
    },
    async putMany(entries) {
      if (entries.length === 0) return;
      // ON CONFLICT cannot touch one row twice in a statement: the last write per id wins, as in
      // SQLite's one-by-one upserts.
      const last = new Map<string, IndexWrite>();
      for (const e of entries) last.set(e.employeeId, e);
      const unique = [...last.values()];
      await ensureSchema();
      await transaction(async (c) => {
        for (let i = 0; i < unique.length; i += UPSERT_CHUNK) {
          const chunk = unique.slice(i, i + UPSERT_CHUNK);
          await c.query(
            `INSERT INTO record_index (employee_id, fingerprint, source, updated_at)
             SELECT id, fp, src, now() FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, fp, src)
             ON CONFLICT (employee_id) DO UPDATE
               SET fingerprint = excluded.fingerprint, source = excluded.source, updated_at = excluded.updated_at`,
            [chunk.map((e) => e.employeeId), chunk.map((e) => e.fingerprint), chunk.map((e) => e.source)],
          );
        }
      });
    },
    async *all(pageSize = 1000) {
      let after = '';
      for (;;) {
        const { rows } = await query<Row>(
          'SELECT * FROM record_index WHERE employee_id > $1 ORDER BY employee_id LIMIT $2',
          [after, pageSize],
        );
        for (const row of rows) yield toEntry(row);
        if (rows.length < pageSize) return;
        after = rows[rows.length - 1]!.employee_id;
      }
    },
    async count() {
      const { rows } = await query<{ n: string }>('SELECT count(*) AS n FROM record_index');
      return Number(rows[0]!.n);
    },
    async check() {
      await query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
    async stage(importId, rows) {
      await ensureSchema();
      await transaction(async (c) => {
        for (let i = 0; i < rows.length; i += STAGE_CHUNK) {
          const chunk = rows.slice(i, i + STAGE_CHUNK);
          await c.query(
            `INSERT INTO import_staging (import_id, seq, line, record)
             SELECT $1, seq, line, record FROM unnest($2::int[], $3::int[], $4::text[]) AS t(seq, line, record)
             ON CONFLICT DO NOTHING`,
            [
              importId,
              chunk.map((_, k) => i + k),
              chunk.map((r) => r.line),
              chunk.map((r) => JSON.stringify(r.record)),
            ],
          );
        }
      });
    },
    async staged(importId, offset, limit) {
      const { rows } = await query<{ line: number; record: string }>(
        'SELECT line, record FROM import_staging WHERE import_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3',
        [importId, offset, limit],
      );
      return rows.map((r) => ({ line: r.line, record: JSON.parse(r.record) as StagedRow['record'] }));
    },
    async stagedCount(importId) {
      const { rows } = await query<{ n: string }>(
        'SELECT count(*) AS n FROM import_staging WHERE import_id = $1',
        [importId],
      );
      return Number(rows[0]!.n);
    },
    async dropStaged(importId) {
      await query('DELETE FROM import_staging WHERE import_id = $1', [importId]);
    },
  };
}

// SQLSTATE classes that a retry can fix: 08 connection, 53 insufficient resources, 57P0x
// shutdown/crash, 40001/40P01 serialization failure/deadlock.
const transientSqlState = /^(08|53|57P0|40001|40P01)/;
const transientNodeCode = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Whether a record store error is worth retrying (the database is down, busy or restarting) rather
 * than a bug or a broken schema. Covers PostgreSQL and SQLite (SQLITE_BUSY/LOCKED).
 */
export function isTransientStoreError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (transientSqlState.test(code) || transientNodeCode.has(code)) return true;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return true;
    }
    const message = e instanceof Error ? e.message : '';
    // pg's own wording when the pool cannot connect in time or the server went away.
    if (/timeout exceeded when trying to connect|Connection terminated/i.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
