import { CliContext } from './cli/context';
import { CliError, formatError } from './cli/errors';
import { ExitCode } from './cli/exit-codes';
import { runCommandLine } from './cli/run';
import type { Env } from './config';

// The `tunnus` CLI (bin/tunnus.js, `npm run tunnus`). The commands are defined in
// src/cli/program.ts; docs/cli.md describes them, their exit codes and --json. This module loads
// no Temporal, connector or schema code: commands load what they need when they run.

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on use, see src/cli/program.ts */
const config = () => require('./config') as typeof import('./config');
/* eslint-enable @typescript-eslint/no-require-imports */

/** The environment, parsed when a command first needs it: `--help` works with any settings. */
const envFrom = (source: NodeJS.ProcessEnv) => (): Env => config().parseEnv(source);

/**
 * Runs one command line and returns its exit code. Results go to `out`, errors to `err`; given one
 * stream only (as tests and benches do), both go there. Errors a command reports are written and
 * returned as their code; unexpected errors are thrown.
 */
export async function run(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = out === process.stdout ? process.stderr : out,
): Promise<number> {
  return runCommandLine(argv, new CliContext(out, err, envFrom(process.env)));
}

/** Entry point for bin/tunnus.js and `npm run tunnus`. */
export function cli(): void {
  const ctx = new CliContext(process.stdout, process.stderr, envFrom(process.env));
  // `tunnus runs | head`: the reader has what it wanted; a closed pipe is no error to report.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.Ok);
    throw err;
  });
  // Exit once stdout and stderr are flushed: writes to a pipe are asynchronous, and an exit right
  // after a large --json result cut it short (`tunnus plan --policy --json | jq` at 50,000 people).
  const exit = (code: number) =>
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  runCommandLine(process.argv.slice(2), ctx).then(
    (code) => exit(code),
    (err: unknown) => {
      ctx.err.write(`${formatError(unexpected(err), ctx.json)}\n`);
      exit(ExitCode.Failure);
    },
  );
}

function unexpected(err: unknown): CliError {
  if (!(err instanceof Error)) return new CliError('failed', String(err));
  // The SDK's errors say what failed ("Failed to list workflows"); the cause says why.
  const cause =
    err.cause instanceof Error && err.cause.message !== err.message ? `: ${err.cause.message}` : '';
  return new CliError('failed', `${err.message}${cause}`);
}

if (require.main === module) cli();
