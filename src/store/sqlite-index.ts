import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Source } from '../workflows/messages';
import type { SourceRecord } from '../domain/identity';
import type { RecordStore, StagedRow } from './import-staging';
import type { IndexEntry, IndexWrite } from './record-index';

// The embedded record index: one SQLite file (better-sqlite3, synchronous, WAL). Fast enough that
// the API's unchanged path costs one indexed point read; survives restarts because it is a file.

interface Row {
  employee_id: string;
  fingerprint: string;
  source: Source;
  updated_at: string;
}

const toEntry = (row: Row): IndexEntry => ({
  employeeId: row.employee_id,
  fingerprint: row.fingerprint,
  source: row.source,
  updatedAt: row.updated_at,
});

export interface SqliteIndexOptions {
  /** Database file; created with its directory when absent. ':memory:' for throwaway use. */
  file: string;
}

export function openSqliteIndex({ file }: SqliteIndexOptions): RecordStore {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL survives a process crash; a power cut may lose the last commits, which only
  // means a redundant signal for those people (the workflow de-duplicates).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
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
  `);

  const getOne = db.prepare<[string], Row>('SELECT * FROM record_index WHERE employee_id = ?');
  // One statement for any number of ids: the ids travel as a JSON array.
  const getSome = db.prepare<[string], Row>(
    'SELECT * FROM record_index WHERE employee_id IN (SELECT value FROM json_each(?))',
  );
  const upsert = db.prepare<[string, string, string, string]>(
    `INSERT INTO record_index (employee_id, fingerprint, source, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (employee_id) DO UPDATE
       SET fingerprint = excluded.fingerprint, source = excluded.source, updated_at = excluded.updated_at`,
  );
  const upsertAll = db.transaction((entries: readonly IndexWrite[], at: string) => {
    for (const e of entries) upsert.run(e.employeeId, e.fingerprint, e.source, at);
  });
  // Keyset paging: no cursor stays open across an await, so writes can interleave with a scan.
  const page = db.prepare<[string, number], Row>(
    'SELECT * FROM record_index WHERE employee_id > ? ORDER BY employee_id LIMIT ?',
  );
  const ping = db.prepare('SELECT 1');
  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM record_index');

  const stageOne = db.prepare<[string, number, number, string]>(
    'INSERT OR IGNORE INTO import_staging (import_id, seq, line, record) VALUES (?, ?, ?, ?)',
  );
  const stageAll = db.transaction((importId: string, rows: readonly StagedRow<SourceRecord>[]) => {
    rows.forEach((r, seq) => stageOne.run(importId, seq, r.line, JSON.stringify(r.record)));
  });
  const stagedPage = db.prepare<[string, number, number], { line: number; record: string }>(
    'SELECT line, record FROM import_staging WHERE import_id = ? AND seq >= ? ORDER BY seq LIMIT ?',
  );
  const stagedN = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM import_staging WHERE import_id = ?',
  );
  const dropStaging = db.prepare<[string]>('DELETE FROM import_staging WHERE import_id = ?');

  return {
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
    async put(employeeId, fingerprint, source) {
      upsert.run(employeeId, fingerprint, source, new Date().toISOString());
    },
    async putMany(entries) {
      upsertAll(entries, new Date().toISOString());
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
    async check() {
      ping.get();
    },
    async stage(importId, rows) {
      stageAll(importId, rows);
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
