// The education CSV snapshot (DESIGN.md "Education record"): the same file rules as the HR
// snapshot (src/domain/hr-csv.ts: BOM, `;` or `,`, RFC 4180 quoting, header required, unknown
// columns ignored), every problem reported with its physical line and snake_case column. Pure.

import { CsvError, parseCsv, type CsvRow } from './csv';
import { educationIdentityId, parseEducationRecord, type EducationRecord } from './education';
import type { CsvFieldError } from './hr-csv';

export type { CsvFieldError } from './hr-csv';
export { formatCsvErrors } from './hr-csv';

export interface EducationCsvResult {
  records: { line: number; record: EducationRecord }[];
  errors: CsvFieldError[];
}

/** CSV column → record field. Order is the order missing columns are reported in. */
export const educationColumns = {
  student_id: 'studentId',
  hr_employee_id: 'hrEmployeeId',
  first_names: 'firstNames',
  calling_name: 'callingName',
  last_name: 'lastName',
  school_code: 'schoolCode',
  class: 'class',
  start_date: 'startDate',
  end_date: 'endDate',
} as const satisfies Record<string, keyof EducationRecord>;

type Column = keyof typeof educationColumns;

const requiredColumns: Column[] = ['first_names', 'last_name', 'school_code', 'class', 'start_date'];

const columnOfField = new Map<string, Column>(
  Object.entries(educationColumns).map(([column, field]) => [field, column as Column]),
);
const fieldNamePattern = new RegExp(`\\b(${[...columnOfField.keys()].join('|')})\\b`, 'g');

/**
 * Parses an education CSV snapshot. Valid rows become records; each bad field is an error on its
 * row's line. A row names exactly one of student_id (pupil) and hr_employee_id (staff). Two rows
 * for the same identity (compared case-insensitively) are an error and the first stands.
 */
export function parseEducationCsv(text: string): EducationCsvResult {
  let rows: CsvRow[];
  try {
    rows = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvError)
      return { records: [], errors: [{ line: err.line, field: '', message: err.reason }] };
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
  const positions = new Map<Column, number>();
  header.fields.forEach((raw, index) => {
    const column = raw.trim().toLowerCase();
    if (!(column in educationColumns)) return;
    if (positions.has(column as Column)) {
      headerErrors.push({
        line: header.line,
        field: column,
        message: 'column appears more than once in the header',
      });
    } else {
      positions.set(column as Column, index);
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
  if (!positions.has('student_id') && !positions.has('hr_employee_id')) {
    headerErrors.push({
      line: header.line,
      field: 'student_id',
      message: 'column is required (or hr_employee_id for teaching staff) but missing from the header',
    });
  }
  if (headerErrors.length > 0) return { records: [], errors: headerErrors };

  const records: EducationCsvResult['records'] = [];
  const errors: CsvFieldError[] = [];
  const firstLineOfId = new Map<string, number>();
  const width = header.fields.length;

  for (let r = 1; r < rows.length; r++) {
    const { line, fields } = rows[r]!;
    if (isBlank(fields)) continue;
    if (fields.length > width && fields.slice(width).some((f) => f.trim() !== '')) {
      errors.push({
        line,
        field: '',
        message: `row has ${fields.length} fields but the header has ${width}`,
      });
      continue;
    }
    const raw: Record<string, string> = {};
    for (const [column, index] of positions) raw[educationColumns[column]] = (fields[index] ?? '').trim();

    const result = parseEducationRecord(raw);
    if (!result.ok) {
      const reported = new Set<string>();
      for (const e of result.errors) {
        if (reported.has(e.field)) continue;
        reported.add(e.field);
        const column = columnOfField.get(e.field);
        // class is a required column but only pupils need a value: its own message says so.
        const empty =
          column !== undefined &&
          column !== 'class' &&
          requiredColumns.includes(column) &&
          raw[e.field] === '';
        errors.push({
          line,
          field: column ?? e.field,
          message: empty
            ? 'is required'
            : e.message.replace(fieldNamePattern, (f) => columnOfField.get(f) ?? f),
        });
      }
      continue;
    }
    const key = educationIdentityId(result.value).toLowerCase();
    const firstLine = firstLineOfId.get(key);
    if (firstLine !== undefined) {
      const column = result.value.hrEmployeeId !== undefined ? 'hr_employee_id' : 'student_id';
      errors.push({ line, field: column, message: `duplicates the ${column} on line ${firstLine}` });
      continue;
    }
    firstLineOfId.set(key, line);
    records.push({ line, record: result.value });
  }
  return { records, errors };
}

function isBlank(fields: string[]): boolean {
  return fields.every((f) => f.trim() === '');
}
