import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { CliContext } from './context';
import { UsageError } from './errors';
import { ExitCode } from './exit-codes';
import {
  buildIdOption,
  employeeIdArgument,
  employeeOption,
  isoDateArgument,
  inputFile,
  modeOption,
  requirePlanInput,
  sinceOption,
  stageOption,
  wholeNumberOption,
  type CleanupMode,
} from './options';
import type { TerminateOptions } from './ops';
import type { PlanOptions } from './plan';
import type { RunsOptions } from './runs';
import { ensureListening } from './reachability';
import { stages } from './stages';

// The `tunnus` command line: every command, its arguments, options and help, in one place
// (docs/cli.md). This module loads commander and nothing that talks to a server, so `--help`
// and usage errors are fast; each action requires its module when it runs. require(), not
// import(): bin/tunnus.js runs under tsx's CommonJS hook, which cannot resolve a dynamic import()
// of a .ts module.

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on use, see above */
const actions = {
  person: () => require('./person') as typeof import('./person'),
  imports: () => require('./import') as typeof import('./import'),
  approve: () => require('./approve') as typeof import('./approve'),
  explain: () => require('./explain') as typeof import('./explain'),
  runs: () => require('./runs') as typeof import('./runs'),
  cleanup: () => require('./cleanup') as typeof import('./cleanup'),
  plan: () => require('./plan') as typeof import('./plan'),
  index: () => require('./index-cmd') as typeof import('./index-cmd'),
  codecServer: () => require('./codec-server') as typeof import('./codec-server'),
  ops: () => require('./ops') as typeof import('./ops'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The program for one command line; actions leave their exit code in `ctx.exitCode`. */
export function buildProgram(ctx: CliContext): Command {
  // Commander passes positionals, then the options object, then the command.
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<ExitCode>) =>
    async (...args: A) => {
      ctx.exitCode = await fn(...args);
    };
  // For commands that talk to Temporal: is it there? Asked before the command loads the SDK, so
  // the answer comes in a fraction of a second (src/cli/reachability.ts). The command line has
  // been checked by then (exit 2 first); an input file's content is checked after.
  const online = <A extends unknown[]>(fn: (...args: A) => Promise<ExitCode>) =>
    act(async (...args: A) => {
      await ensureListening(ctx.env);
      return fn(...args);
    });

  const program = new Command('tunnus')
    .description(
      'Identity lifecycle: HR drives Active Directory, Microsoft 365 and telephony, through Temporal.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    // Options belong to the command they follow: `plan apply x --json` is an error, not ignored.
    .enablePositionalOptions()
    .configureOutput({
      writeOut: (s) => ctx.out.write(s),
      writeErr: (s) => ctx.err.write(s),
      // Parse errors are thrown (exitOverride) and reported by runCommandLine, as text or JSON.
      outputError: () => {},
    })
    .exitOverride()
    .hook('preAction', (_program, command) => {
      ctx.json = command.opts<{ json?: boolean }>().json === true;
    });

  program
    .command('hire')
    .description("deliver one HR record (JSON, camelCase fields) to the person's workflow")
    .argument('<record.json>', 'the HR record', inputFile)
    .option('--wait', "wait until the run settles, then print the person's state")
    .action(online((file: string, o: { wait?: boolean }) => actions.person().hire(ctx, file, o)));

  for (const source of ['hr', 'education'] as const) {
    program
      .command(source)
      .description(source === 'hr' ? 'HR snapshots' : 'education snapshots (pupils, teaching staff)')
      .command('import')
      .description(
        source === 'hr'
          ? 'import an HR CSV snapshot: validated whole, then only changed persons, with progress'
          : 'import an education CSV snapshot (student_id or hr_employee_id, first_names, …)',
      )
      .argument('<file.csv>', 'the snapshot (UTF-8, ; or , delimited, header row)', inputFile)
      .option(
        '--accept-valid-rows',
        'import the valid rows of a file with errors (bad rows are listed, left out)',
      )
      .option('--detach', 'start the import and print its id without following it')
      .action(
        online((file: string, o: { acceptValidRows?: boolean; detach?: boolean }) =>
          actions.imports().importSnapshot(ctx, source, file, o),
        ),
      );
  }

  program
    .command('approve')
    .description(
      'approve what the mass-change guard stopped: an import, the leaver cleanup, mass-change-hold',
    )
    .argument('<workflowId>', 'the waiting run')
    .option(
      '--by <name>',
      'on whose behalf (kept in the note; the operator recorded is always the OS user, cli:<user>)',
    )
    .option('--note <text>', 'a note kept with the approval')
    .action(online((id: string, o: { by?: string; note?: string }) => actions.approve().approve(ctx, id, o)));

  const person = program.command('person').description('people as Tunnus knows them');
  person
    .command('show')
    .description("the person's state: stage, account, runs, timeline")
    .argument('<employeeId>', 'HR employee id (or a pupil S-… key)', employeeIdArgument)
    .option('--json', 'print the state as JSON')
    .action(online((id: string, o: { json?: boolean }) => actions.person().personShow(ctx, id, o)));
  person
    .command('confirm-end')
    .description(
      'confirm an end date held because it lies more than lifecycle.lateEndDateMaxDays in the past (the leaver then runs)',
    )
    .argument('<employeeId>', 'HR employee id (or a pupil S-… key)', employeeIdArgument)
    .argument('<endDate>', 'the held end date, YYYY-MM-DD (as `person show` prints it)', isoDateArgument)
    .action(online((id: string, endDate: string) => actions.person().confirmEnd(ctx, id, endDate)));

  program
    .command('terminate')
    .description(
      'end access now, whatever HR says (disable first, then the normal leaver), until --lift; or lift it',
    )
    .argument('<employeeId>', 'HR employee id (or a pupil S-… key)', employeeIdArgument)
    .addOption(new Option('--reason <text>', 'why (kept in the timeline with the operator, cli:<OS user>)'))
    .addOption(
      new Option('--lift', 'lift the termination: planned again from the records by policy').conflicts([
        'reason',
        'approveMass',
      ]),
    )
    .option(
      '--approve-mass',
      'approve a terminate the mass-change guard stopped (more than safety.terminationsPerWindow in the window)',
    )
    .option('--no-wait', 'do not wait for the run to settle (the disable, or the re-plan after --lift)')
    .option('--json', 'print the outcome as JSON')
    .action(
      act(async (id: string, o: TerminateOptions) => {
        // A usage error before anything else.
        if (!o.lift && !o.reason?.trim()) {
          throw new UsageError(
            'terminate needs --reason "<why>" (or --lift to lift a termination)',
            'terminate',
          );
        }
        await ensureListening(ctx.env);
        return actions.ops().terminate(ctx, id, o);
      }),
    );
  program
    .command('retry')
    .description(
      "run a person's failed or held run, or an end of access waiting for its backoff, again now (after a fix)",
    )
    .argument('<employeeId>', 'HR employee id (or a pupil S-… key)', employeeIdArgument)
    .option('--json', 'print the outcome as JSON')
    .action(online((id: string, o: { json?: boolean }) => actions.ops().retry(ctx, id, o)));

  program
    .command('licences')
    .description(
      'per managed SKU: tenant seats, used and free; seats Tunnus holds and who waits (read model)',
    )
    .option('--json', 'print the rows as JSON')
    .action(online((o: { json?: boolean }) => actions.person().licences(ctx, o)));

  program
    .command('explain')
    .description('each group, licence and OU the person holds, with the rule that grants it')
    .argument('<employeeId>', 'HR employee id (or a pupil S-… key)', employeeIdArgument)
    .option('--json', 'print the explanation as JSON')
    .action(online((id: string, o: { json?: boolean }) => actions.explain().explain(ctx, id, o)));

  program
    .command('runs')
    .description('runs as Temporal visibility lists them, newest first')
    .option('--stage <stage>', `only runs of one stage: ${stages.join(', ')}`, stageOption)
    .option(
      '--since <when>',
      'only runs started since: 7d, 12h, YYYY-MM-DD or an ISO instant',
      sinceOption(ctx.now),
    )
    .option('--employee <employeeId>', 'only runs of one person', employeeOption)
    .option(
      '--build-id <buildId>',
      'only runs now on this worker version of TUNNUS_DEPLOYMENT_NAME (docs/versioning.md)',
      buildIdOption,
    )
    .option('--limit <n>', 'at most this many runs', wholeNumberOption('--limit', 1, 10_000), 100)
    .option('--json', 'print the runs as JSON')
    .option('-v, --verbose', 'print the visibility query (it also works in the Web UI)')
    .action(online((o: RunsOptions) => actions.runs().runs(ctx, o)));

  const index = program
    .command('index')
    .description('the identity read model: compare with the person workflows, rebuild from them');
  index
    .command('verify')
    .description('compare read model rows with the person workflows; exit 1 on drift, naming the fields')
    .option(
      '--sample <n>',
      'check n identities picked at random',
      wholeNumberOption('--sample', 1, 1_000_000),
    )
    .option('--full', 'check every identity, and rows without a workflow (the default)')
    .option('--json', 'print the report as JSON')
    .action(
      online((o: { sample?: number; full?: boolean; json?: boolean }) => actions.index().indexVerify(ctx, o)),
    );
  index
    .command('rebuild')
    .description('rewrite every row from its workflow (safe while running: newer rows are kept)')
    .option('--json', 'print the report as JSON')
    .action(online((o: { json?: boolean }) => actions.index().indexRebuild(ctx, o)));

  const cleanup = program.command('cleanup').description('the daily leaver cleanup');
  cleanup
    .command('run')
    .description('run the leaver cleanup now and print its report')
    .option('--mode <mode>', 'report or enforce (default: the schedule, with the policy mode)', modeOption)
    .option('--no-wait', 'start the run and print its id without waiting for the report')
    .option('--json', 'print the report as JSON')
    .action(
      online((o: { mode?: CleanupMode; wait: boolean; json?: boolean }) =>
        actions.cleanup().cleanupRun(ctx, o),
      ),
    );
  cleanup
    .command('report')
    .description("the last completed cleanup's report")
    .option('--json', 'print the report as JSON')
    .action(online((o: { json?: boolean }) => actions.cleanup().cleanupReport(ctx, o)));

  const inputs = ['record', 'hr', 'education', 'policy'];
  const input = (flags: string, description: string) => {
    const name = flags.slice(2, flags.indexOf(' '));
    return new Option(flags, description).conflicts(inputs.filter((i) => i !== name)).argParser(inputFile);
  };
  const plan = program
    .command('plan')
    .description('what Tunnus would do, computed against the live state, without writing anything')
    .addOption(input('--record <file.json>', 'one HR record'))
    .addOption(input('--hr <file.csv>', 'an HR snapshot'))
    .addOption(input('--education <file.csv>', 'an education snapshot'))
    .addOption(input('--policy <new-policy.yaml>', 'a new policy, over every managed person'))
    .option('--json', 'print the plan as JSON')
    .option('--all', 'list unchanged persons too')
    .option('--save <plan.json>', 'save the plan for `tunnus plan apply`')
    .option('--concurrency <n>', 'persons planned at once', wholeNumberOption('--concurrency', 1, 1_000), 16)
    .addOption(new Option('--cleanup').hideHelp())
    .action(
      act(async (o: PlanOptions) => {
        requirePlanInput(o); // a usage error before anything else
        await ensureListening(ctx.env);
        return actions.plan().plan(ctx, o);
      }),
    );
  plan
    .command('apply')
    .description('apply a saved plan if the state it read has not moved')
    .argument('<plan.json>', 'a plan saved with --save', inputFile)
    .option(
      '--policy-deployed',
      'the new policy is deployed on every worker: have the changing persons planned again',
    )
    .action(
      online((file: string, o: { policyDeployed?: boolean }) => actions.plan().planApply(ctx, file, o)),
    );

  program
    .command('codec-server')
    .description("Temporal's remote codec endpoint for the Web UI: decoded payloads for operators")
    .option('--port <port>', 'port (default CODEC_SERVER_PORT, 8234)', wholeNumberOption('--port', 0, 65_535))
    .option('--host <host>', 'address to listen on (default CODEC_SERVER_HOST, 127.0.0.1)')
    .action(act((o: { port?: number; host?: string }) => actions.codecServer().codecServer(ctx, o)));

  program
    .command('help')
    .description('show help for a command')
    .argument('[command...]', 'the command, e.g. hr import')
    .action(
      act(async (names: string[]) => {
        const target = findCommand(program, names);
        if (!target) throw new UsageError(`no command ${names.join(' ')}`, '');
        target.outputHelp(); // to stdout, with any text added after it, as --help prints it
        return ExitCode.Ok;
      }),
    );

  // One help command for the whole tree (`tunnus help hr import`) instead of one per group.
  for (const command of allCommands(program)) command.helpCommand(false);
  program.addHelpText('after', () => commandSummary(program));
  return program;
}

/** Every command below `root`, depth first, with its path ("hr import"). */
export function allCommands(root: Command): Command[] {
  return root.commands.flatMap((c) => [c, ...allCommands(c)]);
}

export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The command a list of names leads to (`['hr', 'import']`), or undefined. */
export function findCommand(root: Command, names: string[]): Command | undefined {
  let current: Command | undefined = root;
  for (const name of names) current = current?.commands.find((c) => c.name() === name);
  return current;
}

function commandSummary(program: Command): string {
  const lines = allCommands(program)
    .filter(runsItself)
    .map((c) => `  tunnus ${commandPath(c)} ${c.usage()}`.trimEnd());
  return [
    '',
    'Every command:',
    ...lines,
    '',
    'Exit codes: 0 done, 1 failed, 2 usage error, 3 waiting for approval (tunnus approve).',
    'Temporal: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE.',
    'More: docs/cli.md.',
  ].join('\n');
}

/** A command that does something itself; a group (`hr`, `cleanup`) only holds subcommands. */
export function runsItself(command: Command): boolean {
  return (
    command.commands.length === 0 || command.options.length > 0 || command.registeredArguments.length > 0
  );
}

function packageVersion(): string {
  const file = path.join(__dirname, '..', '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}
