import type { IdentityKeys } from '../crypto/identity-keys';
import { openText, sealText } from '../crypto/seal';
import type { IdentityRow } from '../domain/identity-row';
import { rowDates } from '../domain/identity-row';
import { isManagedIdentity } from '../domain/managed-identity';

// Contract C: the identity read model, a table in the record index's own database (SQLite file or
// PostgreSQL), one row per identity (src/domain/identity-row.ts). The person workflow writes it
// through the idempotent activity recordIdentity (src/activities/read-model.ts); population-wide
// readers page through it. A write carrying an older (chain, version) than the stored row is
// ignored, so rows land in the order of the state however activities and rebuilds interleave.
// Personal fields (the records) are sealed with the identity's data key before they are stored.

export interface PageOptions {
  /** Keyset paging: identities after this id (byte order). */
  after?: string;
  limit: number;
  /** Only rows in these phases (rows without a phase yet never match a filter). */
  phases?: string[];
}

export interface IdentityReadModel {
  /** Stores the row unless the stored one is newer: `stale` then (nothing written). Idempotent. */
  write(row: IdentityRow): Promise<'written' | 'stale'>;
  get(identityId: string): Promise<IdentityRow | undefined>;
  /** Rows of the ids that have one. */
  getMany(identityIds: readonly string[]): Promise<Map<string, IdentityRow>>;
  /** Rows in identity-id order, `limit` at a time. */
  page(opts: PageOptions): Promise<IdentityRow[]>;
  /** How many managed identities (isManagedIdentity) there are. */
  countManaged(): Promise<number>;
  /** Managed identities active on `today` (isActiveIdentityRow): the guard's denominator. */
  countActive(today: string): Promise<number>;
  /** Removes the row (crypto-shredding at the end of retention: nothing of the person stays). */
  remove(identityId: string): Promise<void>;
}

/**
 * How personal fields are sealed at rest: contract B's sealText/openText with the identity's data
 * key (src/crypto/seal.ts). `open` throws KeyDestroyedError once the key is shredded.
 */
export interface FieldSealer {
  seal(identityId: string, plaintext: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

/** Sealing with each identity's data key (src/crypto/seal.ts): what every Tunnus process uses. */
export const keysSealer = (keys: IdentityKeys): FieldSealer => ({
  seal: (identityId, text) => sealText(keys, identityId, text),
  open: (sealed) => openText(keys, sealed),
});

/** No sealing (tests of the store alone). */
export const plainSealer: FieldSealer = {
  seal: async (_identityId, text) => text,
  open: async (text) => text,
};

/** A row as both stores keep it. */
export interface StoredRow {
  identity_id: string;
  chain: string;
  version: number;
  updated_at: string;
  stage: string;
  phase: string | null;
  managed: number;
  start_date: string | null;
  end_date: string | null;
  /** The row without its records, as JSON. */
  body: string;
  /** `{ records, record }` as JSON, sealed. */
  personal: string;
}

export async function toStored(row: IdentityRow, sealer: FieldSealer): Promise<StoredRow> {
  const { records, record, ...body } = row;
  const { startDate, endDate } = rowDates(row);
  return {
    identity_id: row.identityId,
    chain: row.chain,
    version: row.version,
    updated_at: row.updatedAt,
    stage: row.stage,
    phase: row.phase ?? null,
    managed: isManagedIdentity(row) ? 1 : 0,
    start_date: startDate ?? null,
    end_date: endDate ?? null,
    body: JSON.stringify(body),
    personal: await sealer.seal(row.identityId, JSON.stringify({ records, ...(record ? { record } : {}) })),
  };
}

export async function fromStored(stored: StoredRow, sealer: FieldSealer): Promise<IdentityRow> {
  const body = JSON.parse(stored.body) as Omit<IdentityRow, 'records' | 'record'>;
  try {
    const personal = JSON.parse(await sealer.open(stored.personal)) as Pick<
      IdentityRow,
      'records' | 'record'
    >;
    return { ...body, ...personal, version: Number(stored.version) };
  } catch (err) {
    // Shredded: the row outlived its key (remove() follows the shredding); nothing personal is left.
    if ((err as Error)?.name === 'KeyDestroyed')
      return { ...body, records: {}, version: Number(stored.version) };
    throw err;
  }
}

/** Opens rows in order, a few at a time (opening a sealed field may read a key). */
export async function fromStoredAll(rows: readonly StoredRow[], sealer: FieldSealer): Promise<IdentityRow[]> {
  return Promise.all(rows.map((r) => fromStored(r, sealer)));
}

/** Every row in identity-id order, page by page (never the whole table in memory). */
export async function* allRows(
  model: Pick<IdentityReadModel, 'page'>,
  options: { pageSize?: number; phases?: string[] } = {},
): AsyncIterable<IdentityRow> {
  const limit = options.pageSize ?? 500;
  let after: string | undefined;
  for (;;) {
    const rows = await model.page({
      ...(after !== undefined ? { after } : {}),
      limit,
      ...(options.phases ? { phases: options.phases } : {}),
    });
    yield* rows;
    if (rows.length < limit) return;
    after = rows[rows.length - 1]!.identityId;
  }
}
