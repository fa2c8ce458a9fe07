import { createHmac, randomUUID } from 'node:crypto';
import { KeyDestroyedError, type IdentityKeys } from '../crypto/identity-keys';
import { isSealed, openText, sealText } from '../crypto/seal';
import { recordFingerprint } from '../domain/fingerprint';
import { identityIdOf, type SourceRecord } from '../domain/identity';
import { identityIdOfKey } from '../domain/import-rules';
import type { RecordStore, StagedRead, StagedRow } from './import-staging';

// Personal data at rest in the record store, sealed with each person's data key (contract B,
// src/crypto). One layer over either backend, so SQLite and PostgreSQL hold exactly the same:
//  - import staging: each row's record is sealed (`tk1.<keyId>.…`); the line and the import id stay
//    clear. A row whose person's key was destroyed reads as gone.
//  - the index: the fingerprint is an HMAC of the record under the person's data key, so change
//    detection compares hashes (no row is decrypted) and nobody without the key store can confirm a
//    guessed record; once the key is destroyed it matches nothing. The ids, the source, the time of
//    the write and the start/end dates stay clear: the mass-change guard counts active identities
//    in SQL (countActive), and employment dates without a name are what it needs, nothing more.
// Rotating a person's key changes their fingerprint: the next record for them is delivered once
// more (the person workflow drops it as a duplicate).

/** Fingerprints under this prefix are keyed (legacy plain hashes never equal one). */
const KEYED = 'h1';

/** The HMAC fingerprint of a record under its person's current data key; never matches once destroyed. */
export async function keyedFingerprint(keys: IdentityKeys, identityId: string, record: SourceRecord) {
  try {
    const { keyId, key } = await keys.dataKeyFor(identityId);
    const mac = createHmac('sha256', key)
      .update('tunnus record index v1\0')
      .update(recordFingerprint(record))
      .digest('base64url');
    return `${KEYED}.${keyId}.${mac}`;
  } catch (err) {
    if (!(err instanceof KeyDestroyedError)) throw err;
    // Fresh each time: a shredded person's record is never "unchanged".
    return `destroyed.${randomUUID()}`;
  }
}

/** The identity a staged record belongs to: an HR record names its employee id, an education row its keys. */
const stagedIdentity = (record: SourceRecord): string =>
  identityIdOf('employeeId' in record ? 'hr' : 'education', record);

/**
 * The record store with personal fields sealed: what every Tunnus process opens (store/open.ts).
 * Closing it closes the key store too unless the caller owns that (`ownsKeys: false`).
 */
export function sealRecordStore(
  store: RecordStore,
  keys: IdentityKeys,
  { ownsKeys = true }: { ownsKeys?: boolean } = {},
): RecordStore {
  async function open(row: StagedRow<SourceRecord>): Promise<StagedRead> {
    const stored = row.record as unknown;
    // Rows staged before sealing (an upgrade mid-import) are read as they are.
    if (typeof stored !== 'string' || !isSealed(stored)) return row as StagedRead;
    try {
      return { line: row.line, record: JSON.parse(await openText(keys, stored)) as StagedRow['record'] };
    } catch (err) {
      if (err instanceof KeyDestroyedError) return { line: row.line, gone: true };
      throw err;
    }
  }

  return {
    ...store,
    fingerprint: (key, record) => keyedFingerprint(keys, identityIdOfKey(key), record),
    async stage(importId, rows) {
      const sealed = await Promise.all(
        rows.map(async (r) => ({
          line: r.line,
          // The backend stores the record as JSON text: here, the JSON of the sealed string.
          record: (await sealText(
            keys,
            stagedIdentity(r.record),
            JSON.stringify(r.record),
          )) as unknown as SourceRecord,
        })),
      );
      await store.stage(importId, sealed);
    },
    async staged(importId, offset, limit) {
      const rows = await store.staged(importId, offset, limit);
      return Promise.all(rows.map(async (r) => ('gone' in r ? r : open(r))));
    },
    async close() {
      await store.close();
      if (ownsKeys) await keys.close();
    },
  };
}
