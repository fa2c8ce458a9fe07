import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Env } from '../config';

// The credential handover's ledger: one row per person and start date, saying how many times a
// credential was issued and whether the last one was delivered. The handover activity reads it
// to be idempotent across retries, worker restarts and re-runs of a joiner: delivered means done
// (unless an operator asks to re-issue), issuing means a credential may have been set and sent
// without the activity hearing back, so a fresh one replaces it and the message says so.
// Rows hold ids, dates, counts and recipient kinds — never the credential, never an address.

export type HandoverStatus = 'issuing' | 'delivered';

export interface HandoverEntry {
  /** `handover:{identityId}:{startDate}`. */
  key: string;
  employeeId: string;
  startDate: string;
  /** How many credentials were issued under this key (the latest one is the valid one). */
  issues: number;
  status: HandoverStatus;
  kind: 'temporaryAccessPass' | 'initialPassword';
  /** Which recipient rule the last delivery went to (manager, schoolContact, fallback). */
  recipient?: string;
  /** ISO instants. */
  issuedAt: string;
  deliveredAt?: string;
}

export interface BeginIssue {
  key: string;
  employeeId: string;
  startDate: string;
  kind: HandoverEntry['kind'];
  at: string;
}

export interface HandoverLedger {
  get(key: string): Promise<HandoverEntry | undefined>;
  /** Atomically counts one more issue under the key (status issuing); returns its number (1, 2, …). */
  beginIssue(req: BeginIssue): Promise<number>;
  /** The issue with this number was delivered (ignored if a later issue has begun meanwhile). */
  markDelivered(key: string, issue: number, recipient: string, at: string): Promise<void>;
  close(): Promise<void>;
}

interface Row {
  key: string;
  employee_id: string;
  start_date: string;
  issues: number;
  status: HandoverStatus;
  kind: HandoverEntry['kind'];
  recipient: string | null;
  issued_at: string | Date;
  delivered_at: string | Date | null;
}

const iso = (v: string | Date) => (v instanceof Date ? v.toISOString() : v);

const toEntry = (r: Row): HandoverEntry => ({
  key: r.key,
  employeeId: r.employee_id,
  startDate: r.start_date,
  issues: Number(r.issues),
  status: r.status,
  kind: r.kind,
  ...(r.recipient !== null ? { recipient: r.recipient } : {}),
  issuedAt: iso(r.issued_at),
  ...(r.delivered_at !== null ? { deliveredAt: iso(r.delivered_at) } : {}),
});

/** The ledger in the store the record index uses (PostgreSQL or the SQLite file). */
export function openHandoverLedger(env: Pick<Env, 'RECORD_INDEX_URL' | 'TUNNUS_INDEX_FILE'>): HandoverLedger {
  if (env.RECORD_INDEX_URL) return openPostgresHandoverLedger(env.RECORD_INDEX_URL);
  return openSqliteHandoverLedger(env.TUNNUS_INDEX_FILE);
}

export function openSqliteHandoverLedger(file: string): HandoverLedger {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS credential_handover (
      key          TEXT PRIMARY KEY,
      employee_id  TEXT NOT NULL,
      start_date   TEXT NOT NULL,
      issues       INTEGER NOT NULL,
      status       TEXT NOT NULL,
      kind         TEXT NOT NULL,
      recipient    TEXT,
      issued_at    TEXT NOT NULL,
      delivered_at TEXT
    ) WITHOUT ROWID;
  `);
  const getOne = db.prepare<[string], Row>('SELECT * FROM credential_handover WHERE key = ?');
  const begin = db.prepare<[string, string, string, string, string], { issues: number }>(
    `INSERT INTO credential_handover (key, employee_id, start_date, issues, status, kind, issued_at)
     VALUES (?, ?, ?, 1, 'issuing', ?, ?)
     ON CONFLICT (key) DO UPDATE
       SET issues = issues + 1, status = 'issuing', kind = excluded.kind, issued_at = excluded.issued_at
     RETURNING issues`,
  );
  const delivered = db.prepare<[string, string, string, number]>(
    `UPDATE credential_handover SET status = 'delivered', recipient = ?, delivered_at = ?
     WHERE key = ? AND issues = ?`,
  );
  return {
    get: async (key) => {
      const row = getOne.get(key);
      return row ? toEntry(row) : undefined;
    },
    beginIssue: async (r) => begin.get(r.key, r.employeeId, r.startDate, r.kind, r.at)!.issues,
    markDelivered: async (key, issue, recipient, at) => void delivered.run(recipient, at, key, issue),
    close: async () => void db.close(),
  };
}

export function openPostgresHandoverLedger(connectionString: string): HandoverLedger {
  const pool = new pg.Pool({ connectionString, max: 2, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => undefined);
  let ready: Promise<unknown> | undefined;
  const schema = () =>
    (ready ??= pool
      .query(
        `CREATE TABLE IF NOT EXISTS credential_handover (
          key          text COLLATE "C" PRIMARY KEY,
          employee_id  text NOT NULL,
          start_date   text NOT NULL,
          issues       integer NOT NULL,
          status       text NOT NULL,
          kind         text NOT NULL,
          recipient    text,
          issued_at    timestamptz NOT NULL,
          delivered_at timestamptz
        )`,
      )
      .catch((err: unknown) => {
        ready = undefined;
        throw err;
      }));
  return {
    get: async (key) => {
      await schema();
      const { rows } = await pool.query<Row>('SELECT * FROM credential_handover WHERE key = $1', [key]);
      return rows[0] ? toEntry(rows[0]) : undefined;
    },
    beginIssue: async (r) => {
      await schema();
      const { rows } = await pool.query<{ issues: number }>(
        `INSERT INTO credential_handover (key, employee_id, start_date, issues, status, kind, issued_at)
         VALUES ($1, $2, $3, 1, 'issuing', $4, $5)
         ON CONFLICT (key) DO UPDATE
           SET issues = credential_handover.issues + 1, status = 'issuing', kind = EXCLUDED.kind,
               issued_at = EXCLUDED.issued_at
         RETURNING issues`,
        [r.key, r.employeeId, r.startDate, r.kind, r.at],
      );
      return Number(rows[0]!.issues);
    },
    markDelivered: async (key, issue, recipient, at) => {
      await schema();
      await pool.query(
        `UPDATE credential_handover SET status = 'delivered', recipient = $1, delivered_at = $2
         WHERE key = $3 AND issues = $4`,
        [recipient, at, key, issue],
      );
    },
    close: () => pool.end(),
  };
}
