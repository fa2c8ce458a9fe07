import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { KeyHead, KeyRow, KeyRows } from './identity-keys';

// The key store as a SQLite file of its own beside the index, so that it can be backed up (and
// its backups expired) separately from the index: see docs/privacy.md on backups and shredding.

interface KeyRecord {
  key_id: string;
  identity_id: string;
  kek_id: string;
  wrapped: Buffer | null;
}

/** Creates the file 0600 (or makes an existing one 0600), with its WAL companions. */
function privateFile(file: string) {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
}

export function openSqliteKeyRows({ file }: { file: string }): KeyRows {
  if (file !== ':memory:') privateFile(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  // Freed pages are zeroed, so a destroyed key's bytes do not linger in the file.
  db.pragma('secure_delete = ON');
  db.exec(`
    CREATE TABLE IF NOT EXISTS identity_keys (
      key_id       TEXT PRIMARY KEY,
      identity_id  TEXT NOT NULL,
      kek_id       TEXT NOT NULL,
      wrapped      BLOB,
      created_at   TEXT NOT NULL,
      destroyed_at TEXT
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS identity_keys_identity ON identity_keys (identity_id);
    CREATE TABLE IF NOT EXISTS identity_key_heads (
      identity_id  TEXT PRIMARY KEY,
      key_id       TEXT,
      destroyed_at TEXT
    ) WITHOUT ROWID;
  `);

  const headOf = db.prepare<[string], { key_id: string | null; destroyed_at: string | null }>(
    'SELECT key_id, destroyed_at FROM identity_key_heads WHERE identity_id = ?',
  );
  const keyOf = db.prepare<[string], KeyRecord>(
    'SELECT key_id, identity_id, kek_id, wrapped FROM identity_keys WHERE key_id = ?',
  );
  const insertKey = db.prepare<[string, string, string, Buffer, string]>(
    'INSERT INTO identity_keys (key_id, identity_id, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const insertHead = db.prepare<[string, string]>(
    'INSERT INTO identity_key_heads (identity_id, key_id) VALUES (?, ?) ON CONFLICT DO NOTHING',
  );
  const setHead = db.prepare<[string, string]>(
    `INSERT INTO identity_key_heads (identity_id, key_id) VALUES (?, ?)
     ON CONFLICT (identity_id) DO UPDATE SET key_id = excluded.key_id`,
  );
  const wipeKeys = db.prepare<[string, string]>(
    'UPDATE identity_keys SET wrapped = NULL, destroyed_at = ? WHERE identity_id = ?',
  );
  const tombstone = db.prepare<[string, string]>(
    `INSERT INTO identity_key_heads (identity_id, key_id, destroyed_at) VALUES (?, NULL, ?)
     ON CONFLICT (identity_id) DO UPDATE
       SET key_id = NULL, destroyed_at = coalesce(identity_key_heads.destroyed_at, excluded.destroyed_at)`,
  );

  const toRow = (r: KeyRecord): KeyRow => ({
    keyId: r.key_id,
    identityId: r.identity_id,
    kekId: r.kek_id,
    wrapped: r.wrapped,
  });
  const createFirst = db.transaction((row: KeyRow & { wrapped: Buffer }, at: string) => {
    if (insertHead.run(row.identityId, row.keyId).changes === 0) return 'exists' as const;
    insertKey.run(row.keyId, row.identityId, row.kekId, row.wrapped, at);
    return 'created' as const;
  });
  const addCurrent = db.transaction((row: KeyRow & { wrapped: Buffer }, at: string) => {
    if (headOf.get(row.identityId)?.destroyed_at) return 'destroyed' as const;
    insertKey.run(row.keyId, row.identityId, row.kekId, row.wrapped, at);
    setHead.run(row.identityId, row.keyId);
    return 'added' as const;
  });
  const reissueHead = db.prepare<[string, string]>(
    `INSERT INTO identity_key_heads (identity_id, key_id) VALUES (?, ?)
     ON CONFLICT (identity_id) DO UPDATE SET key_id = excluded.key_id, destroyed_at = NULL`,
  );
  const reissue = db.transaction((row: KeyRow & { wrapped: Buffer }, at: string) => {
    insertKey.run(row.keyId, row.identityId, row.kekId, row.wrapped, at);
    reissueHead.run(row.identityId, row.keyId);
  });
  const destroy = db.transaction((identityId: string, at: string) => {
    wipeKeys.run(at, identityId);
    tombstone.run(identityId, at);
  });

  return {
    async head(identityId): Promise<KeyHead | undefined> {
      const h = headOf.get(identityId);
      return h && { keyId: h.key_id, destroyed: h.destroyed_at !== null };
    },
    async key(keyId) {
      const r = keyOf.get(keyId);
      return r && toRow(r);
    },
    async createFirst(row) {
      return createFirst.immediate(row, new Date().toISOString());
    },
    async addCurrent(row) {
      return addCurrent.immediate(row, new Date().toISOString());
    },
    async destroy(identityId) {
      destroy.immediate(identityId, new Date().toISOString());
      // The WAL still holds the pages as they were before the wipe: fold it in and truncate it.
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    async reissue(row) {
      reissue.immediate(row, new Date().toISOString());
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
