// A small RFC 4180 CSV reader for HR and education snapshots. Pure: text in, rows out.
// Hand-written rather than a dependency because the needs are narrow (detect `;` or `,`, report
// the physical line each row starts on) and it must stay fast on 50,000-row files.

export type CsvDelimiter = ';' | ',';

export interface CsvRow {
  /** Physical line (1-based) where the row starts; the header is line 1. */
  line: number;
  fields: string[];
}

export interface CsvOptions {
  /** Skip detection and use this delimiter. */
  delimiter?: CsvDelimiter;
}

/** The text is not well-formed CSV; `line` is where the problem starts. */
export class CsvError extends Error {
  constructor(
    /** What is wrong, without the line prefix. */
    readonly reason: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'CsvError';
  }
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SEMICOLON = 0x3b;
const COMMA = 0x2c;

/** Strips a UTF-8 byte order mark (decoded as U+FEFF) if present. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The delimiter of the header line: whichever of `;` and `,` occurs more often outside quotes.
 * A tie (including a one-column header) gives `;`, the Finnish default.
 */
export function detectDelimiter(text: string): CsvDelimiter {
  let semicolons = 0;
  let commas = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) quoted = !quoted;
    else if (quoted) continue;
    else if (c === LF || c === CR) break;
    else if (c === SEMICOLON) semicolons++;
    else if (c === COMMA) commas++;
  }
  return commas > semicolons ? ',' : ';';
}

/**
 * Parses CSV text into rows (header included, as the first row). Accepts CRLF, LF or CR line
 * ends and an optional BOM. Quoted fields may hold delimiters, doubled quotes and line breaks
 * (kept as written). A quote inside an unquoted field is taken literally. Throws CsvError for an
 * unterminated quoted field or text after a closing quote. A final line break adds no row; a blank
 * line in the middle is a row with one empty field.
 */
export function parseCsv(input: string, options: CsvOptions = {}): CsvRow[] {
  const text = stripBom(input);
  const delimiter = (options.delimiter ?? detectDelimiter(text)).charCodeAt(0);
  const length = text.length;
  const rows: CsvRow[] = [];
  let i = 0;
  let line = 1;

  while (i < length) {
    const rowLine = line;
    const fields: string[] = [];
    for (;;) {
      if (text.charCodeAt(i) === QUOTE) {
        const fieldLine = line;
        let value = '';
        let segmentStart = i + 1;
        let j = segmentStart;
        for (;;) {
          const q = text.indexOf('"', j);
          if (q === -1) throw new CsvError('quoted field is not closed', fieldLine);
          line += countLineBreaks(text, j, q);
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += text.slice(segmentStart, q + 1);
            j = segmentStart = q + 2;
            continue;
          }
          value += text.slice(segmentStart, q);
          i = q + 1;
          break;
        }
        fields.push(value);
        if (i >= length) break;
        const c = text.charCodeAt(i);
        if (c === delimiter) {
          i++;
          continue;
        }
        if (c === LF || c === CR) {
          i = skipLineBreak(text, i);
          line++;
          break;
        }
        throw new CsvError(
          'unexpected text after a closing quote (a quote inside a field must be doubled)',
          line,
        );
      } else {
        let j = i;
        while (j < length) {
          const c = text.charCodeAt(j);
          if (c === delimiter || c === LF || c === CR) break;
          j++;
        }
        fields.push(text.slice(i, j));
        if (j >= length) {
          i = length;
          break;
        }
        if (text.charCodeAt(j) === delimiter) {
          i = j + 1;
          if (i >= length) {
            // A delimiter at the very end of the text still ends in an (empty) field.
            fields.push('');
            break;
          }
          continue;
        }
        i = skipLineBreak(text, j);
        line++;
        break;
      }
    }
    rows.push({ line: rowLine, fields });
  }
  return rows;
}

function skipLineBreak(text: string, at: number): number {
  return text.charCodeAt(at) === CR && text.charCodeAt(at + 1) === LF ? at + 2 : at + 1;
}

/** Line breaks (LF, CRLF or a lone CR) in text[from, to). */
function countLineBreaks(text: string, from: number, to: number): number {
  let count = 0;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === LF) count++;
    else if (c === CR && text.charCodeAt(k + 1) !== LF) count++;
  }
  return count;
}
