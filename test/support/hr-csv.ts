import { hrColumns } from '../../src/domain/hr-csv';
import type { HrRecord } from '../../src/domain/record';

// HR CSV snapshots as the HR export writes them (docs/architecture.md "Data formats"), for tests
// and benches: `;`-separated snake_case columns, a header row, RFC 4180 quoting where a cell needs
// it, CRLF line ends. A test that means to send a malformed file builds that part itself.

export type HrColumn = keyof typeof hrColumns;

/** The columns of the HR export, in its order. */
export const HR_EXPORT_COLUMNS: readonly HrColumn[] = [
  'employee_id',
  'first_names',
  'last_name',
  'job_title',
  'job_code',
  'org_unit',
  'employment_type',
  'start_date',
  'end_date',
];

export interface HrCsvOptions {
  /** Which columns, in order (default: the HR export's). A record's missing field is an empty cell. */
  columns?: readonly HrColumn[];
  /** Line end (default CRLF, as the export). */
  eol?: '\r\n' | '\n';
  /** Whether the last row ends with `eol` too (default: yes, as the export). */
  finalEol?: boolean;
}

const needsQuotes = /[;"\r\n]/;
const cell = (value: string | undefined) =>
  value === undefined ? '' : needsQuotes.test(value) ? `"${value.replaceAll('"', '""')}"` : value;

/** The CSV text of `records`: a header row, then one row a record. */
export function hrCsv(records: readonly HrRecord[], options: HrCsvOptions = {}): string {
  const { columns = HR_EXPORT_COLUMNS, eol = '\r\n', finalEol = true } = options;
  const rows = records.map((r) => columns.map((c) => cell(r[hrColumns[c]])).join(';'));
  return [columns.join(';'), ...rows].join(eol) + (finalEol ? eol : '');
}
