// The education CSV snapshot (docs/architecture.md "Education record"): the same file rules as the HR
// snapshot (src/domain/hr-csv.ts: BOM, `;` or `,`, RFC 4180 quoting, header required, unknown
// columns ignored), every problem reported with its physical line and snake_case column. Pure.

import { columnErrorsFor, readSnapshot, type CsvFieldError, type SnapshotSpec } from './csv-snapshot';
import { educationIdentityId, parseEducationRecord, type EducationRecord } from './education';
import { defaultIntakeRules, type IntakeRules } from './intake-rules';

export { formatCsvErrors, type CsvFieldError } from './csv-snapshot';

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

const spec: SnapshotSpec<Column> = {
  columns: educationColumns,
  required: requiredColumns,
  headerCheck: (present) =>
    present.has('student_id') || present.has('hr_employee_id')
      ? []
      : [
          {
            field: 'student_id',
            message: 'column is required (or hr_employee_id for teaching staff) but missing from the header',
          },
        ],
};
// class is a required column but only pupils need a value: the record's own message says so.
const columnErrors = columnErrorsFor(spec, ['class']);

/**
 * Parses an education CSV snapshot under the policy's intake rules (defaults if not given). Valid
 * rows become records; each bad field is an error on its row's line. A row names exactly one of
 * student_id (pupil) and hr_employee_id (staff; refused when the rules do not trust the sender to
 * link staff). Two rows for the same identity key are an error and the first stands.
 */
export function parseEducationCsv(text: string, rules: IntakeRules = defaultIntakeRules): EducationCsvResult {
  const read = readSnapshot(text, spec);
  if ('errors' in read) return { records: [], errors: read.errors };

  const records: EducationCsvResult['records'] = [];
  const errors: CsvFieldError[] = [];
  const firstLineOfId = new Map<string, number>();
  for (const row of read.rows) {
    if ('error' in row) {
      errors.push(row.error);
      continue;
    }
    const { line, raw } = row;
    const result = parseEducationRecord(raw, rules);
    if (!result.ok) {
      errors.push(...columnErrors(line, raw, result.errors));
      continue;
    }
    const key = educationIdentityId(result.value);
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
