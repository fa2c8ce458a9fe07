import type { Env } from '../config';
import type { IntakeRules } from '../domain/intake-rules';
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

  /**
   * The door's rules for what an operator hands the CLI, from the policy the workers run
   * (TUNNUS_POLICY_FILE): its sentinels, date range, look-ahead from today, transliteration.
   */
  intakeRules(): IntakeRules {
    // Loaded on use, like the actions (src/cli/program.ts): `--help` stays free of schemas.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { loadPolicy } = require('../config') as typeof import('../config');
    const { helsinkiDate } = require('../domain/dates') as typeof import('../domain/dates');
    const { intakeRulesOf } = require('../domain/intake-rules') as typeof import('../domain/intake-rules');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const policy = loadPolicy(this.env.TUNNUS_POLICY_FILE);
    return intakeRulesOf(policy, { kind: 'operator' }, helsinkiDate(this.now()));
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
