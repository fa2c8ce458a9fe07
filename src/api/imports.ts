import { createHash } from 'node:crypto';
import { parseEducationCsv } from '../domain/education-csv';
import { formatCsvErrors, parseHrCsv, type CsvFieldError } from '../domain/hr-csv';
import type { SourceRecord } from '../domain/identity';
import { defaultIntakeRules, type IntakeRules } from '../domain/intake-rules';
import type { StagedRow } from '../store/import-staging';
import type { ImportProgress } from '../workflows/import';
import type { Source } from '../workflows/messages';

// Preparing a snapshot import, shared by the CLI (`tunnus hr import`) and the API (POST /imports):
// parse and validate the whole file first; a file with errors applies nothing unless the operator
// accepts the valid rows. Staging the rows and starting the import workflow is src/ops/imports.ts.

export type PreparedImport =
  | { ok: false; errors: CsvFieldError[] }
  | {
      ok: true;
      importId: string;
      source: Source;
      /** HrRecords for source hr, EducationRecords for source education. */
      rows: StagedRow<SourceRecord>[];
      /** Errors in rows that were dropped (accept-valid-rows); empty otherwise. */
      errors: CsvFieldError[];
      rejectedRows: number;
    };

/**
 * `import-{source}-{hash}`: the hash of the file and the accept flag, so the same upload twice
 * (a client's retry) finds the running import instead of starting a second one.
 */
export function importIdFor(source: Source, text: string, acceptValidRows: boolean): string {
  const hash = createHash('sha256')
    .update(acceptValidRows ? 'accept-valid-rows\n' : 'all-rows\n')
    .update(text)
    .digest('hex')
    .slice(0, 16);
  return `import-${source}-${hash}`;
}

export const importIdPattern = /^import-(hr|education)-[0-9a-f]{16}$/;

/** Parses and validates an HR CSV snapshot for import. Pure. */
export function prepareHrImport(text: string, acceptValidRows: boolean): PreparedImport {
  return prepareImport('hr', text, acceptValidRows);
}

/**
 * Parses and validates a snapshot of either source for import (same rules for both), under the
 * policy's intake rules for the sender (src/domain/intake-rules.ts intakeRulesOf). Pure.
 */
export function prepareImport(
  source: Source,
  text: string,
  acceptValidRows: boolean,
  rules: IntakeRules = defaultIntakeRules,
): PreparedImport {
  const { records, errors } = source === 'hr' ? parseHrCsv(text, rules) : parseEducationCsv(text, rules);
  if (errors.length > 0 && (!acceptValidRows || records.length === 0)) return { ok: false, errors };
  const rejectedLines = new Set(errors.map((e) => e.line));
  return {
    ok: true,
    importId: importIdFor(source, text, acceptValidRows),
    source,
    rows: records,
    errors,
    // A header problem rejects the file, so every error here is on a data row.
    rejectedRows: rejectedLines.size,
  };
}

export function describeCsvErrors(errors: readonly CsvFieldError[], limit = 50): string {
  const shown = formatCsvErrors(errors.slice(0, limit));
  return errors.length > limit ? `${shown}\n… and ${errors.length - limit} more` : shown;
}

export type ImportRunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out';

export interface ImportStatus {
  importId: string;
  status: ImportRunStatus;
  /** Null only when the workflow could not say (a failed run before its first report). */
  progress: ImportProgress | null;
  /** What the run is doing now, as the Web UI shows it. */
  details?: string;
  error?: string;
}

export interface StartedImport {
  importId: string;
  /** An identical upload was already running: that run stands. */
  alreadyRunning: boolean;
}

/** The workflow side of imports, as the routes and the CLI need it. */
export interface ImportRunner {
  start(prepared: Extract<PreparedImport, { ok: true }>): Promise<StartedImport>;
  /** The import's state, or null when there is no such import. */
  status(importId: string): Promise<ImportStatus | null>;
}
