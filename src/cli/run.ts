import { CommanderError, type Command } from 'commander';
import type { CliContext } from './context';
import { CliError, formatError, UsageError } from './errors';
import { ExitCode } from './exit-codes';
import { buildProgram, commandPath } from './program';

// Runs one command line: commander parses it, the action runs, and the outcome becomes an exit
// code. Usage errors and the errors a command reports (CliError) are written to the error stream
// — as JSON when the command was given --json — and returned as their exit code. Anything else is
// unexpected and thrown, for the entry point (src/starter.ts) or a test to see.

export async function runCommandLine(argv: string[], ctx: CliContext): Promise<ExitCode> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end by "exiting" with 0; a group without its subcommand prints its
      // help on the error stream and is a usage error.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.Ok;
      if (err.code === 'commander.help') return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
      return report(
        ctx,
        new UsageError(err.message.replace(/^error: /, ''), target(program, argv)),
        argv,
        program,
      );
    }
    if (err instanceof UsageError && err.command === undefined) {
      // Raised by an option's parser, which does not know its command.
      return report(ctx, new UsageError(err.message, target(program, argv)), argv, program);
    }
    if (err instanceof CliError) return report(ctx, err, argv, program);
    // src/config.ts's ConfigError (by name: this module loads no schema): a setting to fix.
    if (err instanceof Error && err.name === 'ConfigError') {
      return report(ctx, new CliError('config', err.message), argv, program);
    }
    throw err;
  }
}

function report(ctx: CliContext, err: CliError, argv: string[], program: Command): ExitCode {
  // A parse error comes before the action: --json is then read off the command line.
  const json = ctx.json || wantsJson(program, argv);
  ctx.err.write(`${formatError(err, json)}\n`);
  return err.exitCode;
}

/** The command the command line names ("hr import"), as far as it names one. */
function target(program: Command, argv: string[]): string {
  return commandPath(commandOf(program, argv));
}

function commandOf(program: Command, argv: string[]): Command {
  let current = program;
  for (const token of untilDoubleDash(argv)) {
    if (token.startsWith('-')) continue;
    const sub = current.commands.find((c) => c.name() === token);
    if (sub) current = sub;
  }
  return current;
}

function wantsJson(program: Command, argv: string[]): boolean {
  const command = commandOf(program, argv);
  return untilDoubleDash(argv).includes('--json') && command.options.some((o) => o.long === '--json');
}

function untilDoubleDash(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
}
