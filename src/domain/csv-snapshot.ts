// What the HR and education snapshots share (docs/architecture.md "Data formats"): the header (known columns
// by name, duplicates and missing required columns reported on line 1), rows as raw field values
// keyed by record field, and record validation errors turned into snake_case column errors.
// Each snapshot keeps its own record schema and its own rule for duplicate identities. Pure.

import { CsvError, parseCsv } from './csv';
import type { FieldError } from './record';

/** A problem in the file: its line (1-based, header = 1), the snake_case column, what is wrong. */
export interface CsvFieldError {
  line: number;
  /** Column name, or '' when the problem is the row or the file as a whole. */
  field: string;
  message: string;
}

export interface SnapshotSpec<C extends string> {
  /** CSV column → record field. Order is the order missing columns are reported in. */
  columns: Readonly<Record<C, string>>;
  required: readonly C[];
  /** Further header problems, given the known columns present (e.g. "one of two id columns"). */
  headerCheck?: (present: ReadonlySet<C>) => { field: string; message: string }[];
}

/** A data row: its field values (trimmed, keyed by record field), or why the row is unusable. */
export type SnapshotRow =
  { line: number; raw: Record<string, string> } | { line: number; error: CsvFieldError };

/**
 * Reads the file's header and data rows. A file that cannot be parsed or whose header is wrong
 * gives only errors. Blank rows are skipped. Cell values are trimmed (stray spaces around an id or
 * date are never meaningful).
 */
export function readSnapshot<C extends string>(
  text: string,
  spec: SnapshotSpec<C>,
): { errors: CsvFieldError[] } | { rows: SnapshotRow[] } {
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvError) return { errors: [{ line: err.line, field: '', message: err.reason }] };
    throw err;
  }
  const header = parsed[0];
  if (header === undefined || isBlank(header.fields)) {
    return { errors: [{ line: 1, field: '', message: 'the file is empty; a header row is required' }] };
  }

  const headerErrors: CsvFieldError[] = [];
  // Index of each known column in a row; unknown columns are ignored.
  const positions = new Map<C, number>();
  header.fields.forEach((raw, index) => {
    const name = raw.trim().toLowerCase();
    // Own keys only: a column named `constructor` or `__proto__` is an unknown column, not a
    // property every object inherits.
    if (!Object.hasOwn(spec.columns, name)) return;
    const column = name as C;
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
  for (const column of spec.required) {
    if (!positions.has(column)) {
      headerErrors.push({
        line: header.line,
        field: column,
        message: 'column is required but missing from the header',
      });
    }
  }
  const present = new Set(positions.keys());
  for (const e of spec.headerCheck?.(present) ?? []) headerErrors.push({ line: header.line, ...e });
  if (headerErrors.length > 0) return { errors: headerErrors };

  const width = header.fields.length;
  const rows: SnapshotRow[] = [];
  for (const { line, fields } of parsed.slice(1)) {
    if (isBlank(fields)) continue;
    // Fewer cells than the header reads as trailing empty cells (some spreadsheets drop them);
    // more non-empty cells means a field was split, so every value after it is suspect.
    if (fields.length > width && fields.slice(width).some((f) => f.trim() !== '')) {
      rows.push({
        line,
        error: { line, field: '', message: `row has ${fields.length} fields but the header has ${width}` },
      });
      continue;
    }
    // Keys are the spec's record fields only (a header names no others), never `__proto__`.
    const raw: Record<string, string> = {};
    for (const [column, index] of positions) raw[spec.columns[column]] = (fields[index] ?? '').trim();
    rows.push({ line, raw });
  }
  return { rows };
}

/**
 * Turns a row's record validation errors into column errors: one per column (a malformed date also
 * fails the calendar check: say it once), an empty required cell simply "is required", and
 * camelCase field names in messages ("is before startDate") spoken as the CSV's snake_case. Built
 * once per snapshot kind; called per bad row.
 */
export function columnErrorsFor<C extends string>(
  spec: SnapshotSpec<C>,
  /** Required columns whose empty cell has a message of its own (the record says when it is needed). */
  ownEmptyMessage: readonly C[] = [],
): (line: number, raw: Record<string, string>, errors: readonly FieldError[]) => CsvFieldError[] {
  const columnOfField = new Map<string, C>(
    (Object.entries(spec.columns) as [C, string][]).map(([column, field]) => [field, column]),
  );
  const fieldNamePattern = new RegExp(`\\b(${[...columnOfField.keys()].join('|')})\\b`, 'g');
  return (line, raw, errors) => {
    const reported = new Set<string>();
    const out: CsvFieldError[] = [];
    for (const e of errors) {
      if (reported.has(e.field)) continue;
      reported.add(e.field);
      const column = columnOfField.get(e.field);
      const empty =
        column !== undefined &&
        !ownEmptyMessage.includes(column) &&
        spec.required.includes(column) &&
        raw[e.field] === '';
      out.push({
        line,
        field: column ?? e.field,
        message: empty
          ? 'is required'
          : e.message.replace(fieldNamePattern, (f) => columnOfField.get(f) ?? f),
      });
    }
    return out;
  };
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
