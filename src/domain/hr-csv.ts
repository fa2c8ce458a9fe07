// The HR CSV snapshot (DESIGN.md "Data formats"): snake_case columns → HrRecord, every problem
// reported with its physical line and column so an operator can fix the file. Pure.

import { CsvError, parseCsv, type CsvRow } from './csv';
import { parseHrRecord, type HrRecord } from './record';

/** A problem in the file: its line (1-based, header = 1), the snake_case column, what is wrong. */
export interface CsvFieldError {
  line: number;
  /** Column name, or '' when the problem is the row or the file as a whole. */
  field: string;
  message: string;
}

export interface HrCsvResult {
  records: { line: number; record: HrRecord }[];
  errors: CsvFieldError[];
}

/** CSV column → record field. Order is the order missing columns are reported in. */
export const hrColumns = {
  employee_id: 'employeeId',
  first_names: 'firstNames',
  calling_name: 'callingName',
  last_name: 'lastName',
  job_title: 'jobTitle',
  job_code: 'jobCode',
  org_unit: 'orgUnit',
  employment_type: 'employmentType',
  start_date: 'startDate',
  end_date: 'endDate',
  effective_date: 'effectiveDate',
  manager_id: 'managerId',
  language: 'language',
} as const satisfies Record<string, keyof HrRecord>;

type Column = keyof typeof hrColumns;

const requiredColumns: Column[] = [
  'employee_id',
  'first_names',
  'last_name',
  'job_title',
  'job_code',
  'org_unit',
  'employment_type',
  'start_date',
];

const columnOfField = new Map<string, Column>(
  Object.entries(hrColumns).map(([column, field]) => [field, column as Column]),
);
// Record messages name other fields in camelCase ("is before startDate"); the CSV speaks snake_case.
const fieldNamePattern = new RegExp(`\\b(${[...columnOfField.keys()].join('|')})\\b`, 'g');

/**
 * Parses an HR CSV snapshot. Valid rows become records; each bad field is an error on its row's
 * line. Cell values are trimmed (stray spaces around an id or date are never meaningful). A row
 * repeating an earlier employee_id (compared case-insensitively, as AD matches employeeID) is an
 * error and the first occurrence stands. Blank rows are skipped.
 */
export function parseHrCsv(text: string): HrCsvResult {
  let rows: CsvRow[];
  try {
    rows = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvError) {
      return {
        records: [],
        errors: [{ line: err.line, field: '', message: err.reason }],
      };
    }
    throw err;
  }

  const header = rows[0];
  if (header === undefined || isBlank(header.fields)) {
    return {
      records: [],
      errors: [{ line: 1, field: '', message: 'the file is empty; a header row is required' }],
    };
  }

  const headerErrors: CsvFieldError[] = [];
  // Index of each known column in a row; unknown columns are ignored.
  const positions = new Map<Column, number>();
  header.fields.forEach((raw, index) => {
    const name = raw.trim().toLowerCase();
    if (!(name in hrColumns)) return;
    const column = name as Column;
    if (positions.has(column)) {
      headerErrors.push({
        line: header.line,
        field: column,
        message: 'column appears more than once in the header',
      });
    } else {
      positions.set(column, index);
    }
  });
  for (const column of requiredColumns) {
    if (!positions.has(column)) {
      headerErrors.push({
        line: header.line,
        field: column,
        message: 'column is required but missing from the header',
      });
    }
  }
  if (headerErrors.length > 0) return { records: [], errors: headerErrors };

  const records: HrCsvResult['records'] = [];
  const errors: CsvFieldError[] = [];
  const firstLineOfId = new Map<string, number>();
  const width = header.fields.length;

  for (let r = 1; r < rows.length; r++) {
    const { line, fields } = rows[r]!;
    if (isBlank(fields)) continue;

    // Fewer cells than the header reads as trailing empty cells (some spreadsheets drop them);
    // more non-empty cells means a field was split, so every value after it is suspect.
    if (fields.length > width && fields.slice(width).some((f) => f.trim() !== '')) {
      errors.push({
        line,
        field: '',
        message: `row has ${fields.length} fields but the header has ${width}`,
      });
      continue;
    }

    const raw: Record<string, string> = {};
    for (const [column, index] of positions) raw[hrColumns[column]] = (fields[index] ?? '').trim();

    let rowOk = true;
    const id = raw.employeeId ?? '';
    if (id !== '') {
      const key = id.toLowerCase();
      const firstLine = firstLineOfId.get(key);
      if (firstLine === undefined) {
        firstLineOfId.set(key, line);
      } else {
        errors.push({
          line,
          field: 'employee_id',
          message: `duplicates the employee_id on line ${firstLine}`,
        });
        rowOk = false;
      }
    }

    const result = parseHrRecord(raw);
    if (!result.ok) {
      const reported = new Set<string>();
      for (const e of result.errors) {
        // One message per column: a malformed date also fails the calendar check, say it once.
        if (reported.has(e.field)) continue;
        reported.add(e.field);
        const column = columnOfField.get(e.field);
        const empty = column !== undefined && requiredColumns.includes(column) && raw[e.field] === '';
        errors.push({
          line,
          field: column ?? e.field,
          message: empty
            ? 'is required'
            : e.message.replace(fieldNamePattern, (f) => columnOfField.get(f) ?? f),
        });
      }
      rowOk = false;
    }
    if (rowOk && result.ok) records.push({ line, record: result.value });
  }
  return { records, errors };
}

/** One line per error, in file order: "line 7: start_date must be a date YYYY-MM-DD". */
export function formatCsvErrors(errors: readonly CsvFieldError[]): string {
  return [...errors]
    .sort((a, b) => a.line - b.line)
    .map((e) => `line ${e.line}: ${e.field === '' ? '' : `${e.field} `}${e.message}`)
    .join('\n');
}

function isBlank(fields: string[]): boolean {
  return fields.every((f) => f.trim() === '');
}
