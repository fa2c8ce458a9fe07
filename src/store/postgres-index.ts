import pg from 'pg';
import { pgTransaction } from './pg-transaction';
import type { Source } from '../workflows/messages';
import type { WindowLoss } from '../domain/mass-change';
import { LEDGER_KEEP_DAYS, toLedgerEntry, type LedgerRow } from './guard-ledger';
import { STAGE_CHUNK, type RecordStore, type StagedRow } from './import-staging';
import { indexFingerprint, type IndexEntry, type IndexWrite } from './record-index';
import {
  createPostgresReadModel,
  POSTGRES_ACTIVE_ROW,
  POSTGRES_READ_MODEL_SCHEMA,
} from './postgres-read-model';
import type { FieldSealer } from './read-model';

// The record index on PostgreSQL, for production: several API instances and workers share one
// database. Same contract as the SQLite index (test/integration/record-index.test.ts runs both).

export interface PostgresIndexOptions {
  /** postgres://user:password@host:port/database — never logged. */
  connectionString: string;
  /** Connections in the pool; intake is point reads and batched writes, so a few suffice. */
  max?: number;
  /** Seals the identity read model's personal fields (contract B); plain when absent. */
  sealer?: FieldSealer;
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
  ALTER TABLE record_index ADD COLUMN IF NOT EXISTS start_date text;
  ALTER TABLE record_index ADD COLUMN IF NOT EXISTS end_date text;
  ALTER TABLE import_staging ADD COLUMN IF NOT EXISTS staged_at timestamptz;
  CREATE TABLE IF NOT EXISTS mass_change_ledger (
    seq         bigserial PRIMARY KEY,
    ref         text NOT NULL,
    identity_id text COLLATE "C" NOT NULL,
    kind        text NOT NULL,
    groups      text NOT NULL,
    status      text NOT NULL,
    at          text NOT NULL,
    approved_by text
  );
  CREATE INDEX IF NOT EXISTS mass_change_ledger_window ON mass_change_ledger (status, at);
  CREATE INDEX IF NOT EXISTS mass_change_ledger_identity ON mass_change_ledger (identity_id, status);
  ${POSTGRES_READ_MODEL_SCHEMA}
`;
// Serialises mass-change admissions across every process (check and insert are one step).
const LEDGER_LOCK = 0x67756172; // "guar"

const ledgerColumns = (ref: string, losses: readonly WindowLoss[]) => [
  ref,
  losses.map((l) => l.identityId),
  losses.map((l) => l.kind),
  losses.map((l) => JSON.stringify(l.groups)),
];
// Any constant shared by every Tunnus process: serialises CREATE TABLE IF NOT EXISTS, which races
// (duplicate pg_type) when two processes create the same table at once.
const SCHEMA_LOCK = 0x74756e6e; // "tunn"

interface Row {
  employee_id: string;
  fingerprint: string;
  source: Source;
  updated_at: Date;
  start_date: string | null;
  end_date: string | null;
}

const toEntry = (row: Row): IndexEntry => ({
  employeeId: row.employee_id,
  fingerprint: row.fingerprint,
  source: row.source,
  updatedAt: row.updated_at.toISOString(),
  ...(row.start_date !== null ? { startDate: row.start_date } : {}),
  ...(row.end_date !== null ? { endDate: row.end_date } : {}),
});

export function openPostgresIndex({ connectionString, max = 10, sealer }: PostgresIndexOptions): RecordStore {
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

  const transaction = pgTransaction(pool);

  const query = async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    await ensureSchema();
    return pool.query<R>(text, values);
  };
  const identities = createPostgresReadModel(query, sealer);

  return {
    async fingerprint(_key, record) {
      return indexFingerprint(record);
    },
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
    async put(employeeId, fingerprint, source, dates) {
      await query(
        `INSERT INTO record_index (employee_id, fingerprint, source, updated_at, start_date, end_date)
         VALUES ($1, $2, $3, now(), $4, $5)
         ON CONFLICT (employee_id) DO UPDATE
           SET fingerprint = excluded.fingerprint, source = excluded.source, updated_at = excluded.updated_at,
               start_date = excluded.start_date, end_date = excluded.end_date`,
        [employeeId, fingerprint, source, dates?.startDate ?? null, dates?.endDate ?? null],
      );
    },
    async remove(employeeId) {
      await query('DELETE FROM record_index WHERE employee_id = $1', [employeeId]);
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
            `INSERT INTO record_index (employee_id, fingerprint, source, updated_at, start_date, end_date)
             SELECT id, fp, src, now(), sd, ed
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(id, fp, src, sd, ed)
             ON CONFLICT (employee_id) DO UPDATE
               SET fingerprint = excluded.fingerprint, source = excluded.source, updated_at = excluded.updated_at,
                   start_date = excluded.start_date, end_date = excluded.end_date`,
            [
              chunk.map((e) => e.employeeId),
              chunk.map((e) => e.fingerprint),
              chunk.map((e) => e.source),
              chunk.map((e) => e.startDate ?? null),
              chunk.map((e) => e.endDate ?? null),
            ],
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
    async countActive(today) {
      // The read model's active identities (isActiveIdentityRow), and — for an identity it has no
      // row of yet (delivered a moment ago, or before the first rebuild) — isActiveIdentity on the
      // index entry (src/domain/access-loss.ts): started, not ended, not a second row.
      const { rows } = await query<{ n: string }>(
        `SELECT (SELECT count(*) FROM identity_read_model WHERE ${POSTGRES_ACTIVE_ROW})
              + (SELECT count(*) FROM record_index i
                  WHERE employee_id NOT LIKE 'education:%'
                    AND (start_date IS NULL OR start_date = '' OR start_date <= $1)
                    AND (end_date IS NULL OR end_date = '' OR end_date >= $1)
                    AND NOT EXISTS (SELECT 1 FROM identity_read_model r WHERE r.identity_id = i.employee_id)) AS n`,
        [today],
      );
      return Number(rows[0]!.n);
    },
    identities,
    async admitLosses(request, decide) {
      await ensureSchema();
      const at = new Date().toISOString();
      return transaction(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [LEDGER_LOCK]);
        await c.query("DELETE FROM mass_change_ledger WHERE status <> 'held' AND at < $1", [
          new Date(Date.parse(at) - LEDGER_KEEP_DAYS * 86_400_000).toISOString(),
        ]);
        if (!request.approvedBy) {
          const { rows } = await c.query<LedgerRow>(
            "SELECT * FROM mass_change_ledger WHERE status = 'admitted' AND at >= $1 ORDER BY seq",
            [request.since],
          );
          if (!decide(rows.map(toLedgerEntry))) return false;
        }
        if (request.losses.length > 0) {
          await c.query(
            `INSERT INTO mass_change_ledger (ref, identity_id, kind, groups, status, at, approved_by)
             SELECT $1, id, kind, groups, $5, $6, $7
               FROM unnest($2::text[], $3::text[], $4::text[]) AS t(id, kind, groups)`,
            [
              ...ledgerColumns(request.ref, request.losses),
              request.approvedBy ? 'approved' : 'admitted',
              at,
              request.approvedBy ?? null,
            ],
          );
        }
        return true;
      });
    },
    async windowLosses(since) {
      const { rows } = await query<LedgerRow>(
        "SELECT * FROM mass_change_ledger WHERE status = 'admitted' AND at >= $1 ORDER BY seq",
        [since],
      );
      return rows.map(toLedgerEntry);
    },
    async holdLosses(ref, losses) {
      await ensureSchema();
      await transaction(async (c) => {
        await c.query(
          "DELETE FROM mass_change_ledger WHERE status = 'held' AND identity_id = ANY($1::text[])",
          [losses.map((l) => l.identityId)],
        );
        await c.query(
          `INSERT INTO mass_change_ledger (ref, identity_id, kind, groups, status, at)
           SELECT $1, id, kind, groups, 'held', $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS t(id, kind, groups)`,
          [...ledgerColumns(ref, losses), new Date().toISOString()],
        );
      });
    },
    async heldLosses(identityIds) {
      const { rows } = identityIds
        ? await query<LedgerRow>(
            "SELECT * FROM mass_change_ledger WHERE status = 'held' AND identity_id = ANY($1::text[]) ORDER BY seq",
            [identityIds],
          )
        : await query<LedgerRow>("SELECT * FROM mass_change_ledger WHERE status = 'held' ORDER BY seq");
      return rows.map(toLedgerEntry);
    },
    async releaseHeld(identityIds, approvedBy) {
      await query(
        `UPDATE mass_change_ledger SET status = 'approved', at = $1, approved_by = $2
         WHERE status = 'held' AND identity_id = ANY($3::text[])`,
        [new Date().toISOString(), approvedBy, identityIds],
      );
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
            `INSERT INTO import_staging (import_id, seq, line, record, staged_at)
             SELECT $1, seq, line, record, now() FROM unnest($2::int[], $3::int[], $4::text[]) AS t(seq, line, record)
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
    async stagedImports() {
      const { rows } = await query<{ import_id: string; staged_at: Date | null }>(
        'SELECT import_id, min(staged_at) AS staged_at FROM import_staging GROUP BY import_id ORDER BY import_id',
      );
      return rows.map((r) => ({
        stagingId: r.import_id,
        ...(r.staged_at ? { stagedAt: r.staged_at.toISOString() } : {}),
      }));
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
