import Database from 'better-sqlite3';
import type { Source } from '../workflows/messages';
import type { SourceRecord } from '../domain/identity';
import type { WindowLoss } from '../domain/mass-change';
import { LEDGER_KEEP_DAYS, toLedgerEntry, type AdmitRequest, type LedgerRow } from './guard-ledger';
import type { RecordStore, StagedRow } from './import-staging';
import { ensurePrivateFile, fixPrivateMode } from './private-files';
import { indexFingerprint, type IndexEntry, type IndexWrite } from './record-index';
import type { FieldSealer } from './read-model';
import { createSqliteReadModel, SQLITE_ACTIVE_ROW } from './sqlite-read-model';

// The embedded record index: one SQLite file (better-sqlite3, synchronous, WAL). Fast enough that
// the API's unchanged path costs one indexed point read; survives restarts because it is a file.

interface Row {
  employee_id: string;
  fingerprint: string;
  source: Source;
  updated_at: string;
  start_date: string | null;
  end_date: string | null;
}

const toEntry = (row: Row): IndexEntry => ({
  employeeId: row.employee_id,
  fingerprint: row.fingerprint,
  source: row.source,
  updatedAt: row.updated_at,
  ...(row.start_date !== null ? { startDate: row.start_date } : {}),
  ...(row.end_date !== null ? { endDate: row.end_date } : {}),
});

export interface SqliteIndexOptions {
  /** Database file; created with its directory when absent. ':memory:' for throwaway use. */
  file: string;
  /** Seals the identity read model's personal fields (contract B); plain when absent. */
  sealer?: FieldSealer;
}

export function openSqliteIndex({ file, sealer }: SqliteIndexOptions): RecordStore {
  const onDisk = file !== ':memory:';
  // The file holds import staging (HR records, sealed) and the index: owner only (private-files.ts).
  if (onDisk) ensurePrivateFile(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // SQLite gives the WAL and shared-memory files the database file's mode when it creates them;
  // ones left from before (an older version, a restore) are put back to 0600 here.
  if (onDisk) for (const suffix of ['-wal', '-shm', '-journal']) fixPrivateMode(`${file}${suffix}`);
  // WAL + NORMAL survives a process crash; a power cut may lose the last commits, which only
  // means a redundant signal for those people (the workflow de-duplicates).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Deleted rows (dropped staging, removed entries) are zeroed, not left in free pages.
  db.pragma('secure_delete = ON');
  db.exec(`
    CREATE TABLE IF NOT EXISTS record_index (
      employee_id TEXT PRIMARY KEY,
      fingerprint TEXT NOT NULL,
      source      TEXT NOT NULL,
      updated_at  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS import_staging (
      import_id TEXT NOT NULL,
      seq       INTEGER NOT NULL,
      line      INTEGER NOT NULL,
      record    TEXT NOT NULL,
      PRIMARY KEY (import_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS mass_change_ledger (
      seq         INTEGER PRIMARY KEY AUTOINCREMENT,
      ref         TEXT NOT NULL,
      identity_id TEXT NOT NULL,
      kind        TEXT NOT NULL,
      groups      TEXT NOT NULL,
      status      TEXT NOT NULL,
      at          TEXT NOT NULL,
      approved_by TEXT
    );
    CREATE INDEX IF NOT EXISTS mass_change_ledger_window ON mass_change_ledger (status, at);
    CREATE INDEX IF NOT EXISTS mass_change_ledger_identity ON mass_change_ledger (identity_id, status);
  `);
  // Indexes made before the guard kept dates gain the columns (empty until the next write).
  const info = db.pragma('table_info(record_index)') as { name: string }[];
  const columns = new Set(info.map((c) => c.name));
  if (!columns.has('start_date')) db.exec('ALTER TABLE record_index ADD COLUMN start_date TEXT');
  if (!columns.has('end_date')) db.exec('ALTER TABLE record_index ADD COLUMN end_date TEXT');
  // Staging made before the sweep of ended imports gains the time rows were staged.
  const stagingInfo = db.pragma('table_info(import_staging)') as { name: string }[];
  if (!stagingInfo.some((c) => c.name === 'staged_at'))
    db.exec('ALTER TABLE import_staging ADD COLUMN staged_at TEXT');

  const getOne = db.prepare<[string], Row>('SELECT * FROM record_index WHERE employee_id = ?');
  // One statement for any number of ids: the ids travel as a JSON array.
  const getSome = db.prepare<[string], Row>(
    'SELECT * FROM record_index WHERE employee_id IN (SELECT value FROM json_each(?))',
  );
  const upsert = db.prepare<[string, string, string, string, string | null, string | null]>(
    `INSERT INTO record_index (employee_id, fingerprint, source, updated_at, start_date, end_date)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (employee_id) DO UPDATE
       SET fingerprint = excluded.fingerprint, source = excluded.source, updated_at = excluded.updated_at,
           start_date = excluded.start_date, end_date = excluded.end_date`,
  );
  const upsertAll = db.transaction((entries: readonly IndexWrite[], at: string) => {
    for (const e of entries)
      upsert.run(e.employeeId, e.fingerprint, e.source, at, e.startDate ?? null, e.endDate ?? null);
  });
  // Keyset paging: no cursor stays open across an await, so writes can interleave with a scan.
  const page = db.prepare<[string, number], Row>(
    'SELECT * FROM record_index WHERE employee_id > ? ORDER BY employee_id LIMIT ?',
  );
  const ping = db.prepare('SELECT 1');
  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM record_index');
  const identities = createSqliteReadModel(db, sealer);
  // The read model's active identities (isActiveIdentityRow), and — for an identity it has no row
  // of yet (delivered a moment ago, or before the first rebuild) — isActiveIdentity on the index
  // entry (src/domain/access-loss.ts): started, not ended, not a second row.
  const countActiveOn = db.prepare<[string, string, string, string], { n: number }>(
    `SELECT (SELECT count(*) FROM identity_read_model WHERE ${SQLITE_ACTIVE_ROW})
          + (SELECT count(*) FROM record_index i
              WHERE employee_id NOT LIKE 'education:%'
                AND (start_date IS NULL OR start_date = '' OR start_date <= ?)
                AND (end_date IS NULL OR end_date = '' OR end_date >= ?)
                AND NOT EXISTS (SELECT 1 FROM identity_read_model r WHERE r.identity_id = i.employee_id)) AS n`,
  );

  const ledgerInsert = db.prepare<[string, string, string, string, string, string, string | null]>(
    `INSERT INTO mass_change_ledger (ref, identity_id, kind, groups, status, at, approved_by)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const ledgerWindow = db.prepare<[string], LedgerRow>(
    "SELECT * FROM mass_change_ledger WHERE status = 'admitted' AND at >= ? ORDER BY seq",
  );
  const ledgerPrune = db.prepare<[string]>(
    "DELETE FROM mass_change_ledger WHERE status <> 'held' AND at < ?",
  );
  const heldAll = db.prepare<[], LedgerRow>(
    "SELECT * FROM mass_change_ledger WHERE status = 'held' ORDER BY seq",
  );
  const heldOf = db.prepare<[string], LedgerRow>(
    `SELECT * FROM mass_change_ledger WHERE status = 'held'
       AND identity_id IN (SELECT value FROM json_each(?)) ORDER BY seq`,
  );
  const unhold = db.prepare<[string]>(
    "DELETE FROM mass_change_ledger WHERE status = 'held' AND identity_id IN (SELECT value FROM json_each(?))",
  );
  const release = db.prepare<[string, string, string]>(
    `UPDATE mass_change_ledger SET status = 'approved', at = ?, approved_by = ?
     WHERE status = 'held' AND identity_id IN (SELECT value FROM json_each(?))`,
  );
  // IMMEDIATE: the write lock is taken before the window is read, so two processes admitting at
  // once are serialised (the check and the insert are one step).
  const admit = db.transaction(
    (request: AdmitRequest, decide: (window: WindowLoss[]) => boolean, at: string): boolean => {
      ledgerPrune.run(new Date(Date.parse(at) - LEDGER_KEEP_DAYS * 86_400_000).toISOString());
      if (!request.approvedBy && !decide(ledgerWindow.all(request.since).map(toLedgerEntry))) return false;
      for (const l of request.losses) {
        ledgerInsert.run(
          request.ref,
          l.identityId,
          l.kind,
          JSON.stringify(l.groups),
          request.approvedBy ? 'approved' : 'admitted',
          at,
          request.approvedBy ?? null,
        );
      }
      return true;
    },
  );
  const hold = db.transaction((ref: string, losses: readonly WindowLoss[], at: string) => {
    unhold.run(JSON.stringify(losses.map((l) => l.identityId)));
    for (const l of losses)
      ledgerInsert.run(ref, l.identityId, l.kind, JSON.stringify(l.groups), 'held', at, null);
  });

  const stageOne = db.prepare<[string, number, number, string, string]>(
    'INSERT OR IGNORE INTO import_staging (import_id, seq, line, record, staged_at) VALUES (?, ?, ?, ?, ?)',
  );
  const stageAll = db.transaction(
    (importId: string, rows: readonly StagedRow<SourceRecord>[], at: string) => {
      rows.forEach((r, seq) => stageOne.run(importId, seq, r.line, JSON.stringify(r.record), at));
    },
  );
  const stagedIds = db.prepare<[], { import_id: string; staged_at: string | null }>(
    'SELECT import_id, min(staged_at) AS staged_at FROM import_staging GROUP BY import_id ORDER BY import_id',
  );
  const stagedPage = db.prepare<[string, number, number], { line: number; record: string }>(
    'SELECT line, record FROM import_staging WHERE import_id = ? AND seq >= ? ORDER BY seq LIMIT ?',
  );
  const stagedN = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM import_staging WHERE import_id = ?',
  );
  const dropStaging = db.prepare<[string]>('DELETE FROM import_staging WHERE import_id = ?');
  const removeOne = db.prepare<[string]>('DELETE FROM record_index WHERE employee_id = ?');

  return {
    async fingerprint(_key, record) {
      return indexFingerprint(record);
    },
    async get(employeeId) {
      const row = getOne.get(employeeId);
      return row && toEntry(row);
    },
    async getMany(employeeIds) {
      const out = new Map<string, IndexEntry>();
      if (employeeIds.length === 0) return out;
      for (const row of getSome.all(JSON.stringify(employeeIds))) out.set(row.employee_id, toEntry(row));
      return out;
    },
    async put(employeeId, fingerprint, source, dates) {
      upsert.run(
        employeeId,
        fingerprint,
        source,
        new Date().toISOString(),
        dates?.startDate ?? null,
        dates?.endDate ?? null,
      );
    },
    async putMany(entries) {
      upsertAll(entries, new Date().toISOString());
    },
    async remove(employeeId) {
      removeOne.run(employeeId);
    },
    async *all(pageSize = 1000) {
      let after = '';
      for (;;) {
        const rows = page.all(after, pageSize);
        for (const row of rows) yield toEntry(row);
        if (rows.length < pageSize) return;
        after = rows[rows.length - 1]!.employee_id;
      }
    },
    async count() {
      return countAll.get()!.n;
    },
    async countActive(today) {
      return countActiveOn.get(today, today, today, today)!.n;
    },
    identities,
    async admitLosses(request, decide) {
      return admit.immediate(request, decide, new Date().toISOString());
    },
    async windowLosses(since) {
      return ledgerWindow.all(since).map(toLedgerEntry);
    },
    async holdLosses(ref, losses) {
      hold(ref, losses, new Date().toISOString());
    },
    async heldLosses(identityIds) {
      const rows = identityIds ? heldOf.all(JSON.stringify(identityIds)) : heldAll.all();
      return rows.map(toLedgerEntry);
    },
    async releaseHeld(identityIds, approvedBy) {
      release.run(new Date().toISOString(), approvedBy, JSON.stringify(identityIds));
    },
    async check() {
      ping.get();
    },
    async stage(importId, rows) {
      stageAll(importId, rows, new Date().toISOString());
    },
    async stagedImports() {
      return stagedIds
        .all()
        .map((r) => ({ stagingId: r.import_id, ...(r.staged_at ? { stagedAt: r.staged_at } : {}) }));
    },
    async staged(importId, offset, limit) {
      return stagedPage
        .all(importId, offset, limit)
        .map((r) => ({ line: r.line, record: JSON.parse(r.record) as StagedRow['record'] }));
    },
    async stagedCount(importId) {
      return stagedN.get(importId)!.n;
    },
    async dropStaged(importId) {
      dropStaging.run(importId);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
