// The HR CSV snapshot (docs/architecture.md "Data formats"): snake_case columns → HrRecord, every problem
// reported with its physical line and column so an operator can fix the file. Pure.

import { columnErrorsFor, readSnapshot, type CsvFieldError, type SnapshotSpec } from './csv-snapshot';
import { canonicalIdentityKey } from './identity-key';
import { defaultIntakeRules, type IntakeRules } from './intake-rules';
import { parseHrRecord, type HrRecord } from './record';

export { formatCsvErrors, type CsvFieldError } from './csv-snapshot';

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

const spec: SnapshotSpec<Column> = { columns: hrColumns, required: requiredColumns };
const columnErrors = columnErrorsFor(spec);

/**
 * Parses an HR CSV snapshot under the policy's intake rules (defaults if not given). Valid rows
 * become records; each bad field is an error on its row's line. Cell values are trimmed (stray
 * spaces around an id or date are never meaningful); an empty optional cell is absent. A row
 * repeating an earlier employee_id (as canonical identity keys: AD matches employeeID
 * case-insensitively) is an error and the first occurrence stands. Blank rows are skipped.
 */
export function parseHrCsv(text: string, rules: IntakeRules = defaultIntakeRules): HrCsvResult {
  const read = readSnapshot(text, spec);
  if ('errors' in read) return { records: [], errors: read.errors };

  const records: HrCsvResult['records'] = [];
  const errors: CsvFieldError[] = [];
  const firstLineOfId = new Map<string, number>();
  for (const row of read.rows) {
    if ('error' in row) {
      errors.push(row.error);
      continue;
    }
    const { line, raw } = row;
    let rowOk = true;
    const id = raw.employeeId ?? '';
    if (id !== '') {
      const key = canonicalIdentityKey(id);
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

    const result = parseHrRecord(raw, rules);
    if (!result.ok) {
      errors.push(...columnErrors(line, raw, result.errors));
      rowOk = false;
    }
    if (rowOk && result.ok) records.push({ line, record: result.value });
  }
  return { records, errors };
}
