import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pgTransaction } from './pg-transaction';
import type { Env } from '../config';

// The notice ledger: one row per notice key (one event), so that a retried activity, a replayed
// workflow or a restarted worker never sends a notice twice. It lives in the store the record
// index uses (the SQLite file or PostgreSQL), in a table of its own.
//
// A send is claimed before Graph is called and marked sent on Graph's 202. A claim is held by an
// owner (the activity: workflow id + activity id, the same across its attempts):
// - sent → never again;
// - claimed by the same owner (its earlier attempt died between the claim and the answer) → taken
//   over at once and sent. Graph's sendMail is not idempotent, so only an attempt that died
//   after Graph accepted the mail and before the row said so can send a second copy — that window
//   is one HTTP answer long;
// - claimed by another owner less than `staleAfterMs` ago → busy (the caller retries later);
// - a claim older than that → taken over.
// Rows hold the key, the template id, the recipients and instants — never a rendered text.

export type NoticeLedgerStatus = 'sending' | 'sent';

export interface NoticeLedgerEntry {
  key: string;
  template: string;
  status: NoticeLedgerStatus;
  owner: string;
  /** The addresses it went to (set when sent). */
  to: string[];
  claimedAt: string;
  sentAt?: string;
}

export type ClaimOutcome =
  | { outcome: 'claimed'; takenOver: boolean }
  | { outcome: 'sent'; entry: NoticeLedgerEntry }
  | { outcome: 'busy'; entry: NoticeLedgerEntry };

export interface ClaimRequest {
  key: string;
  template: string;
  owner: string;
  /** ISO instant. */
  at: string;
  /** Another owner's claim older than this is taken over. */
  staleAfterMs: number;
}

export interface NoticeLedger {
  get(key: string): Promise<NoticeLedgerEntry | undefined>;
  /** Atomically: the key for this owner to send, or why not. */
  claim(req: ClaimRequest): Promise<ClaimOutcome>;
  /** The owner's claim → sent to these addresses. */
  markSent(key: string, owner: string, to: readonly string[], at: string): Promise<void>;
  /** Gives the owner's claim back (the send failed before Graph accepted it). */
  release(key: string, owner: string): Promise<void>;
  close(): Promise<void>;
}

interface Row {
  key: string;
  template: string;
  status: NoticeLedgerStatus;
  owner: string;
  recipients: string | null;
  claimed_at: string | Date;
  sent_at: string | Date | null;
}

const iso = (v: string | Date) => (v instanceof Date ? v.toISOString() : v);

const toEntry = (r: Row): NoticeLedgerEntry => ({
  key: r.key,
  template: r.template,
  status: r.status,
  owner: r.owner,
  to: r.recipients ? (JSON.parse(r.recipients) as string[]) : [],
  claimedAt: iso(r.claimed_at),
  ...(r.sent_at !== null ? { sentAt: iso(r.sent_at) } : {}),
});

/** What a claim finds in the row, decided the same way for both stores. */
function decide(
  existing: NoticeLedgerEntry | undefined,
  req: ClaimRequest,
): ClaimOutcome | 'take' | 'insert' {
  if (!existing) return 'insert';
  if (existing.status === 'sent') return { outcome: 'sent', entry: existing };
  if (existing.owner === req.owner) return 'take';
  const age = Date.parse(req.at) - Date.parse(existing.claimedAt);
  return age >= req.staleAfterMs ? 'take' : { outcome: 'busy', entry: existing };
}

/** The ledger in the store the record index uses (PostgreSQL or the SQLite file). */
export function openNoticeLedger(env: Pick<Env, 'RECORD_INDEX_URL' | 'TUNNUS_INDEX_FILE'>): NoticeLedger {
  if (env.RECORD_INDEX_URL) return openPostgresNoticeLedger(env.RECORD_INDEX_URL);
  return openSqliteNoticeLedger(env.TUNNUS_INDEX_FILE);
}

export function openSqliteNoticeLedger(file: string): NoticeLedger {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS notice_ledger (
      key        TEXT PRIMARY KEY,
      template   TEXT NOT NULL,
      status     TEXT NOT NULL,
      owner      TEXT NOT NULL,
      recipients TEXT,
      claimed_at TEXT NOT NULL,
      sent_at    TEXT
    ) WITHOUT ROWID;
  `);
  const getOne = db.prepare<[string], Row>('SELECT * FROM notice_ledger WHERE key = ?');
  const insert = db.prepare<[string, string, string, string]>(
    `INSERT INTO notice_ledger (key, template, status, owner, claimed_at) VALUES (?, ?, 'sending', ?, ?)`,
  );
  const take = db.prepare<[string, string, string]>(
    `UPDATE notice_ledger SET owner = ?, claimed_at = ? WHERE key = ? AND status = 'sending'`,
  );
  const sent = db.prepare<[string, string, string, string]>(
    `UPDATE notice_ledger SET status = 'sent', recipients = ?, sent_at = ? WHERE key = ? AND owner = ?`,
  );
  const release = db.prepare<[string, string]>(
    `DELETE FROM notice_ledger WHERE key = ? AND owner = ? AND status = 'sending'`,
  );
  // IMMEDIATE: the read and the write are one step, also against another process on the file.
  const claimTx = db.transaction((req: ClaimRequest): ClaimOutcome => {
    const row = getOne.get(req.key);
    const d = decide(row && toEntry(row), req);
    if (d === 'insert') insert.run(req.key, req.template, req.owner, req.at);
    else if (d === 'take') take.run(req.owner, req.at, req.key);
    else return d;
    return { outcome: 'claimed', takenOver: d === 'take' };
  });
  return {
    get: async (key) => {
      const row = getOne.get(key);
      return row ? toEntry(row) : undefined;
    },
    claim: async (req) => claimTx.immediate(req),
    markSent: async (key, owner, to, at) => void sent.run(JSON.stringify(to), at, key, owner),
    release: async (key, owner) => void release.run(key, owner),
    close: async () => void db.close(),
  };
}

// Any constant shared by every Tunnus process (as the record index's): serialises CREATE TABLE.
const SCHEMA_LOCK = 0x74756e6e; // "tunn"

export function openPostgresNoticeLedger(connectionString: string): NoticeLedger {
  const pool = new pg.Pool({ connectionString, max: 4, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => undefined);

  const transaction = pgTransaction(pool);

  let ready: Promise<unknown> | undefined;
  const schema = () =>
    (ready ??= transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await c.query(`CREATE TABLE IF NOT EXISTS notice_ledger (
        key        text COLLATE "C" PRIMARY KEY,
        template   text NOT NULL,
        status     text NOT NULL,
        owner      text NOT NULL,
        recipients text,
        claimed_at timestamptz NOT NULL,
        sent_at    timestamptz
      )`);
    }).catch((err: unknown) => {
      ready = undefined;
      throw err;
    }));

  return {
    get: async (key) => {
      await schema();
      const { rows } = await pool.query<Row>('SELECT * FROM notice_ledger WHERE key = $1', [key]);
      return rows[0] ? toEntry(rows[0]) : undefined;
    },
    claim: async (req) => {
      await schema();
      return transaction(async (c) => {
        // Insert or lock the existing row: two claims of one key are serialised by the row lock.
        const inserted = await c.query(
          `INSERT INTO notice_ledger (key, template, status, owner, claimed_at)
           VALUES ($1, $2, 'sending', $3, $4) ON CONFLICT (key) DO NOTHING`,
          [req.key, req.template, req.owner, req.at],
        );
        if (inserted.rowCount === 1) return { outcome: 'claimed', takenOver: false } as const;
        const { rows } = await c.query<Row>('SELECT * FROM notice_ledger WHERE key = $1 FOR UPDATE', [
          req.key,
        ]);
        const d = decide(rows[0] && toEntry(rows[0]), req);
        if (d === 'insert') throw new Error('notice ledger: row vanished during a claim'); // retried by the caller
        if (d !== 'take') return d;
        await c.query(`UPDATE notice_ledger SET owner = $1, claimed_at = $2 WHERE key = $3`, [
          req.owner,
          req.at,
          req.key,
        ]);
        return { outcome: 'claimed', takenOver: true } as const;
      });
    },
    markSent: async (key, owner, to, at) => {
      await schema();
      await pool.query(
        `UPDATE notice_ledger SET status = 'sent', recipients = $1, sent_at = $2 WHERE key = $3 AND owner = $4`,
        [JSON.stringify(to), at, key, owner],
      );
    },
    release: async (key, owner) => {
      await schema();
      await pool.query(`DELETE FROM notice_ledger WHERE key = $1 AND owner = $2 AND status = 'sending'`, [
        key,
        owner,
      ]);
    },
    close: () => pool.end(),
  };
}
