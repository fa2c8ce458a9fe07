import pg from 'pg';
import { pgTransaction } from '../store/pg-transaction';
import type { KeyHead, KeyRow, KeyRows } from './identity-keys';

// The key store on PostgreSQL, in the record index's database (same contract as the SQLite file:
// test/integration/identity-keys.test.ts runs both). A wiped row's old version stays in the table
// until VACUUM reuses its space, and in WAL archives and base backups: harmless without the KEK,
// and docs/privacy.md says what backups mean for shredding.

const schema = `
  CREATE TABLE IF NOT EXISTS identity_keys (
    key_id       text COLLATE "C" PRIMARY KEY,
    identity_id  text COLLATE "C" NOT NULL,
    kek_id       text NOT NULL,
    wrapped      bytea,
    created_at   timestamptz NOT NULL,
    destroyed_at timestamptz
  );
  CREATE INDEX IF NOT EXISTS identity_keys_identity ON identity_keys (identity_id);
  CREATE TABLE IF NOT EXISTS identity_key_heads (
    identity_id  text COLLATE "C" PRIMARY KEY,
    key_id       text,
    destroyed_at timestamptz
  );
`;
// The record index's schema lock: every Tunnus process creates tables under the same one.
const SCHEMA_LOCK = 0x74756e6e; // "tunn"

interface KeyRecord {
  key_id: string;
  identity_id: string;
  kek_id: string;
  wrapped: Buffer | null;
}

export function openPostgresKeyRows({
  connectionString,
  max = 5,
}: {
  connectionString: string;
  max?: number;
}): KeyRows {
  // allowExitOnIdle: a CLI command that opened the keys exits when it is done, idle or not.
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 5_000, allowExitOnIdle: true });
  pool.on('error', () => undefined);

  const transaction = pgTransaction(pool);

  let ready: Promise<void> | undefined;
  const ensureSchema = () =>
    (ready ??= transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await c.query(schema);
    }).catch((err: unknown) => {
      ready = undefined;
      throw err;
    }));

  const insertKey = (c: pg.PoolClient, row: KeyRow) =>
    c.query(
      'INSERT INTO identity_keys (key_id, identity_id, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4, now())',
      [row.keyId, row.identityId, row.kekId, row.wrapped],
    );

  return {
    async head(identityId): Promise<KeyHead | undefined> {
      await ensureSchema();
      const { rows } = await pool.query<{ key_id: string | null; destroyed_at: Date | null }>(
        'SELECT key_id, destroyed_at FROM identity_key_heads WHERE identity_id = $1',
        [identityId],
      );
      const h = rows[0];
      return h && { keyId: h.key_id, destroyed: h.destroyed_at !== null };
    },
    async key(keyId) {
      await ensureSchema();
      const { rows } = await pool.query<KeyRecord>(
        'SELECT key_id, identity_id, kek_id, wrapped FROM identity_keys WHERE key_id = $1',
        [keyId],
      );
      const r = rows[0];
      return r && { keyId: r.key_id, identityId: r.identity_id, kekId: r.kek_id, wrapped: r.wrapped };
    },
    async createFirst(row) {
      await ensureSchema();
      return transaction(async (c) => {
        const inserted = await c.query(
          'INSERT INTO identity_key_heads (identity_id, key_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [row.identityId, row.keyId],
        );
        if (inserted.rowCount === 0) return 'exists' as const;
        await insertKey(c, row);
        return 'created' as const;
      });
    },
    async addCurrent(row) {
      await ensureSchema();
      return transaction(async (c) => {
        // Lock the head (or its absence, by creating it) so a concurrent destroy waits or wins.
        await c.query(
          'INSERT INTO identity_key_heads (identity_id, key_id) VALUES ($1, NULL) ON CONFLICT DO NOTHING',
          [row.identityId],
        );
        const { rows } = await c.query<{ destroyed_at: Date | null }>(
          'SELECT destroyed_at FROM identity_key_heads WHERE identity_id = $1 FOR UPDATE',
          [row.identityId],
        );
        if (rows[0]?.destroyed_at) return 'destroyed' as const;
        await insertKey(c, row);
        await c.query('UPDATE identity_key_heads SET key_id = $2 WHERE identity_id = $1', [
          row.identityId,
          row.keyId,
        ]);
        return 'added' as const;
      });
    },
    async destroy(identityId) {
      await ensureSchema();
      await transaction(async (c) => {
        await c.query(
          `INSERT INTO identity_key_heads (identity_id, key_id, destroyed_at) VALUES ($1, NULL, now())
           ON CONFLICT (identity_id) DO UPDATE
             SET key_id = NULL, destroyed_at = coalesce(identity_key_heads.destroyed_at, now())`,
          [identityId],
        );
        await c.query(
          'UPDATE identity_keys SET wrapped = NULL, destroyed_at = now() WHERE identity_id = $1',
          [identityId],
        );
      });
    },
    async reissue(row) {
      await ensureSchema();
      await transaction(async (c) => {
        await insertKey(c, row);
        await c.query(
          `INSERT INTO identity_key_heads (identity_id, key_id) VALUES ($1, $2)
           ON CONFLICT (identity_id) DO UPDATE SET key_id = excluded.key_id, destroyed_at = NULL`,
          [row.identityId, row.keyId],
        );
      });
    },
    async close() {
      await pool.end();
    },
  };
}
