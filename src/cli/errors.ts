import { ExitCode } from './exit-codes';

// Errors a command reports and ends with. Anything else that escapes a command is unexpected and
// reported as a failure by the entry point (src/starter.ts).

/** Machine-readable error codes, as `--json` prints them (docs/cli.md lists them). */
export type ErrorCode =
  'usage' | 'config' | 'invalid_input' | 'not_found' | 'refused' | 'failed' | 'temporal_unreachable';

export class CliError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly exitCode: ExitCode = ExitCode.Failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The command line is wrong. `command` ("hr import") points the reader at its --help. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super('usage', message, ExitCode.Usage);
    this.name = 'UsageError';
  }
}

/** Output for an error: `{"error":{"code","message"}}` with --json, else the message (and a hint). */
export function formatError(err: CliError, json: boolean): string {
  if (json) return JSON.stringify({ error: { code: err.code, message: err.message } });
  if (err instanceof UsageError && err.command !== undefined) {
    return `${err.message}\n(tunnus ${err.command ? `${err.command} ` : ''}--help shows the usage)`;
  }
  return err.message;
}
