import fs from 'node:fs';
import { CliError, UsageError } from './errors';

// Input files named on the command line. A file that cannot be read is a usage error (exit 2: the
// command line names something that is not there); a file whose content is wrong is a failure
// (exit 1), reported by the command that reads it.

export function readInputFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

export function readJsonFile(file: string): unknown {
  const text = readInputFile(file);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError('invalid_input', `cannot read ${file} as JSON: ${(err as Error).message}`);
  }
}
