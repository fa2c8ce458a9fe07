import type { Env } from '../config';
import { ExitCode } from './exit-codes';

// What a command's action works with: where results and messages go, the configuration (parsed on
// first use, so `--help` works with a broken environment and loads no schema), and the clock.

export interface CliStreams {
  /** Results: what a script reads (one JSON document with --json). */
  out: NodeJS.WritableStream;
  /** Errors, warnings and progress. */
  err: NodeJS.WritableStream;
}

export class CliContext implements CliStreams {
  /** Set from the running command's --json before its action: errors then come as JSON too. */
  json = false;
  /** What the action ended with; errors are thrown instead. */
  exitCode: ExitCode = ExitCode.Ok;
  private parsed?: Env;

  constructor(
    readonly out: NodeJS.WritableStream,
    readonly err: NodeJS.WritableStream,
    private readonly readEnv: () => Env,
    readonly now: () => Date = () => new Date(),
  ) {}

  get env(): Env {
    return (this.parsed ??= this.readEnv());
  }

  /** A line of the result. */
  print(text: string): void {
    this.out.write(`${text}\n`);
  }

  /** A line for the operator, not the result: a warning, a hint, what happens next. */
  note(text: string): void {
    this.err.write(`${text}\n`);
  }
}
