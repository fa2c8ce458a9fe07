import type { SourceRecord } from '../domain/identity';
import type { HrRecord } from '../domain/record';
import type { GuardLedger } from './guard-ledger';
import type { IdentityReadModel } from './read-model';
import type { RecordIndex } from './record-index';

// Staging for snapshot imports. The caller (CLI or API) validates the whole file, stores the valid
// rows here under the import id, and starts the import workflow with only that id and counts: a
// 50,000-row file is ~15 MB, far over Temporal's 2 MB payload limit, and would sit in history for
// the workflow's whole retention. The import's activities read the rows back page by page.
//
// Staging lives in the record index's own database because every process that takes part in an
// import (CLI/API that stages, worker that delivers) already shares that database. Rows are
// deleted when the import ends (the workflow drops them in a `finally`; a terminated import's rows
// by the sweep, src/ops/staging-sweep.ts); while they wait, each record is sealed with its
// person's data key (src/store/sealed-store.ts), so the database holds no names in clear.

/** A validated row; an HR import stages HrRecords, an education import EducationRecords. */
export interface StagedRow<R extends SourceRecord = HrRecord> {
  /** Line of the row in the file, for reports. */
  line: number;
  record: R;
}

/**
 * A staged row that can no longer be read: its person's data key was destroyed (deleted after
 * retention) while the row waited. Counted, never delivered.
 */
export interface GoneRow {
  line: number;
  gone: true;
}

export type StagedRead<R extends SourceRecord = HrRecord> = StagedRow<R> | GoneRow;

export const isGone = (row: StagedRead<SourceRecord>): row is GoneRow => 'gone' in row;
export const isLive = <R extends SourceRecord>(row: StagedRead<R>): row is StagedRow<R> => !('gone' in row);

/** One import's staged rows, for the sweep of rows whose import ended without dropping them. */
export interface StagedImport {
  stagingId: string;
  /** ISO instant of the first row staged; undefined for rows staged before the column existed. */
  stagedAt?: string;
}

export interface ImportStaging {
  /**
   * Stores an import's rows in file order. Idempotent: staging the same import id again (a retry,
   * or the same file uploaded twice — ids are content hashes) keeps one copy.
   */
  stage(importId: string, rows: readonly StagedRow<SourceRecord>[]): Promise<void>;
  /**
   * Rows `offset … offset + limit - 1` (0-based, file order) of the import; a row whose person's
   * key is destroyed reads as gone (the page keeps its length, so paging by offset still works).
   */
  staged(importId: string, offset: number, limit: number): Promise<StagedRead[]>;
  stagedCount(importId: string): Promise<number>;
  dropStaged(importId: string): Promise<void>;
  /** Every import that has rows staged. */
  stagedImports(): Promise<StagedImport[]>;
}

/**
 * What intake, import activities and the API open: the record index with its import staging, the
 * mass-change guard's ledger and the identity read model.
 */
export type RecordStore = RecordIndex &
  ImportStaging &
  GuardLedger & {
    /** The identity read model, in the same database (contract C, src/store/read-model.ts). */
    identities: IdentityReadModel;
  };

/** Rows per INSERT statement when staging (bounded statement size, few round trips). */
export const STAGE_CHUNK = 2000;
