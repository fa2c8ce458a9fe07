import { createHash } from 'node:crypto';
import { recordFingerprint } from '../domain/fingerprint';
import type { SourceRecord } from '../domain/identity';
import type { Source } from '../workflows/messages';

// The record index: the last accepted record's hash per identity, kept durably outside Temporal so
// that intake (one PUT, or a 50,000-row snapshot) can tell "unchanged" from "new or changed"
// without asking a workflow. The person workflow stays the authority; the index only decides what
// to signal. Losing an entry costs one redundant (and harmless, de-duplicated) signal; a stale
// entry that matches a record the workflow never saw would drop an update, which is why an entry
// is written only after the workflow has the record.

export interface IndexEntry {
  employeeId: string;
  /** `RecordIndex.fingerprint`: a keyed hash (a plain one in bare stores), so the index holds no names. */
  fingerprint: string;
  source: Source;
  /** ISO timestamp of the write. */
  updatedAt: string;
  /**
   * The record's start and end dates (no names): what "active" is judged on for the mass-change
   * guard's denominator (isActiveIdentity). Absent on entries written before the index kept them.
   */
  startDate?: string;
  endDate?: string;
}

/** The dates an index entry keeps of a record. */
export interface IndexDates {
  startDate?: string;
  endDate?: string;
}

export interface IndexWrite extends IndexDates {
  employeeId: string;
  fingerprint: string;
  source: Source;
}

/** The dates of a record, for its index entry. */
export function indexDates(record: SourceRecord): IndexDates {
  const { startDate, endDate } = record as { startDate?: unknown; endDate?: unknown };
  return {
    ...(typeof startDate === 'string' ? { startDate } : {}),
    ...(typeof endDate === 'string' ? { endDate } : {}),
  };
}

/**
 * Async so that a networked database can implement it; the embedded SQLite one answers at once.
 */
export interface RecordIndex {
  /**
   * What the index keeps for a record under `key` (an index key): compare it with an entry's
   * fingerprint to tell "unchanged". The production store (sealed-store.ts) makes it an HMAC under
   * the person's data key; the bare stores, `indexFingerprint(record)`.
   */
  fingerprint(key: string, record: SourceRecord): Promise<string>;
  get(employeeId: string): Promise<IndexEntry | undefined>;
  /** Entries for the ids that have one; ids without an entry are absent from the map. */
  getMany(employeeIds: readonly string[]): Promise<Map<string, IndexEntry>>;
  put(employeeId: string, fingerprint: string, source: Source, dates?: IndexDates): Promise<void>;
  /** Writes all entries in one transaction. */
  putMany(entries: readonly IndexWrite[]): Promise<void>;
  /** Every entry in employeeId order, read page by page (never the whole table in memory). */
  all(pageSize?: number): AsyncIterable<IndexEntry>;
  /** How many keys the index holds (every identity it ever knew, and teachers' education rows). */
  count(): Promise<number>;
  /**
   * Active identities on `today` (YYYY-MM-DD, Helsinki): the mass-change guard's denominator. The
   * SQL mirrors isActiveIdentity (src/domain/mass-change.ts); the contract test holds them equal.
   */
  countActive(today: string): Promise<number>;
  /** Forgets the identity (crypto-shredding at the end of retention); an absent one is no error. */
  remove(employeeId: string): Promise<void>;
  /** Throws when the index cannot answer (readiness). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What a bare store (no key store: tests, benches) keeps for a record: SHA-256 of
 * `recordFingerprint` (canonical, key-order-free JSON). A plain hash of a record can be confirmed by
 * anyone who guesses the record, which is why production keys it (sealed-store.ts).
 */
export function indexFingerprint(record: SourceRecord): string {
  return createHash('sha256').update(recordFingerprint(record)).digest('base64url');
}
