import fs from 'node:fs';
import { UsageError } from './errors';
import { stages, type Stage } from './stages';

// Parsers for option and argument values: commander calls them while it reads the command line,
// so a bad value is a usage error (exit 2) before anything is read or connected. Each message
// names the option. The domain modules they need are required on call, not when the command
// definitions load.

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on use: see src/cli/program.ts */
const identityKeys = () => require('../domain/identity-key') as typeof import('../domain/identity-key');
const durations = () => require('../domain/durations') as typeof import('../domain/durations');
/* eslint-enable @typescript-eslint/no-require-imports */

/** The canonical identity key (`e1001` is `E1001`), or why the value is not one. */
function identityKey(raw: string): { key: string } | { problem: string } {
  const { canonicalIdentityKey, identityKeyProblem } = identityKeys();
  const key = canonicalIdentityKey(raw);
  const problem = identityKeyProblem(key);
  return problem ? { problem } : { key };
}

/** An `<employeeId>` argument (an HR employee id, or a pupil's `S-…` key). */
export function employeeIdArgument(value: string): string {
  const id = identityKey(value);
  if ('problem' in id) throw new UsageError(`not an employee id: ${value}; it ${id.problem}`);
  return id.key;
}

export function employeeOption(value: string): string {
  const id = identityKey(value);
  if ('problem' in id) throw new UsageError(`--employee must be an employee id: it ${id.problem}`);
  return id.key;
}

export function stageOption(value: string): Stage {
  if (!(stages as string[]).includes(value)) {
    throw new UsageError(`--stage must be one of ${stages.join(', ')}`);
  }
  return value as Stage;
}

/** `--since 7d | 12h | YYYY-MM-DD | ISO instant`, back from the context's clock. */
export function sinceOption(now: () => Date): (value: string) => Date {
  return (value) => {
    const { DurationError, sinceInstant } = durations();
    try {
      return sinceInstant(value, now());
    } catch (err) {
      if (err instanceof DurationError) throw new UsageError(`--since: ${err.message}`);
      throw err;
    }
  };
}

/** A whole number within bounds; the message names the option. */
export function wholeNumberOption(option: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`${option} must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** `--build-id`: a worker build id by TUNNUS_BUILD_ID's rule, so it stays inside the query's quotes. */
export function buildIdOption(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(value)) {
    throw new UsageError('--build-id must be letters, digits, . _ - (a TUNNUS_BUILD_ID)');
  }
  return value;
}

export type CleanupMode = 'report' | 'enforce';

export function modeOption(value: string): CleanupMode {
  if (value !== 'report' && value !== 'enforce') throw new UsageError('--mode must be report or enforce');
  return value;
}

/** The input a plan reads; commander already refuses two of them. */
export function requirePlanInput(options: {
  record?: string;
  hr?: string;
  education?: string;
  policy?: string;
  cleanup?: boolean;
}): void {
  if (options.cleanup) {
    throw new UsageError(
      'tunnus plan --cleanup is not yet available; `tunnus cleanup run --mode report` reports what the cleanup would do',
    );
  }
  if (!options.record && !options.hr && !options.education && !options.policy) {
    throw new UsageError('one of --record, --hr, --education or --policy is required');
  }
}

/** A file the command will read: it must be there and readable (its content is checked later). */
export function inputFile(file: string): string {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    if (!fs.statSync(file).isFile()) throw new UsageError(`cannot read ${file}: not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return file;
}

/** A calendar date argument, YYYY-MM-DD. */
export function isoDateArgument(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new UsageError(`expected a date YYYY-MM-DD, got '${value}'`);
  }
  return value;
}
