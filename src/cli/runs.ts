import { parseEnv, type Env } from '../config';
import { listRuns, runsQuery, type RunRow, type RunsFilter } from '../ops/runs';
import { CliContext } from './context';
import { ExitCode } from './exit-codes';
import { runCommandLine } from './run';
import { stageWorkflowTypes, type Stage } from './stages';
import { withTemporal } from './temporal';

// `tunnus runs [--stage …] [--since 7d] [--employee E1001] [--json]`: runs as Temporal visibility
// lists them, the same query ops can type into the Web UI (printed with --verbose).

export { stageWorkflowTypes, type Stage };

/** The options as src/cli/program.ts parses and validates them. */
export interface RunsOptions {
  stage?: Stage;
  since?: Date;
  employee?: string;
  limit: number;
  /** Only runs on this build id of the worker deployment TUNNUS_DEPLOYMENT_NAME. */
  buildId?: string;
  json?: boolean;
  verbose?: boolean;
}

export async function runs(ctx: CliContext, options: RunsOptions): Promise<ExitCode> {
  const filter: RunsFilter = {
    ...(options.stage ? { stage: options.stage } : {}),
    ...(options.since ? { since: options.since } : {}),
    ...(options.employee ? { employeeId: options.employee } : {}),
    ...(options.buildId ? { version: `${ctx.env.TUNNUS_DEPLOYMENT_NAME}:${options.buildId}` } : {}),
  };
  const { rows, more } = await withTemporal(ctx.env, (client) => listRuns(client, filter, options.limit));
  if (options.json) {
    ctx.print(JSON.stringify({ query: runsQuery(filter), runs: rows, more }, null, 2));
    return ExitCode.Ok;
  }
  if (options.verbose) ctx.print(`query: ${runsQuery(filter) || '(all runs)'}`);
  ctx.print(formatRuns(rows));
  if (more)
    ctx.print(`(first ${options.limit} shown: narrow with --since, --stage or --employee, or raise --limit)`);
  return ExitCode.Ok;
}

/** `tunnus runs …` with its arguments, for callers that hold one output stream (tests). */
export async function runsCommand(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  env: Env = parseEnv(),
  now = new Date(),
): Promise<number> {
  return runCommandLine(
    ['runs', ...argv],
    new CliContext(
      out,
      out,
      () => env,
      () => now,
    ),
  );
}

const shortTime = (iso?: string) => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');

export function formatRuns(rows: RunRow[]): string {
  if (rows.length === 0) return 'no runs match';
  const idWidth = Math.max(11, ...rows.map((r) => r.workflowId.length));
  const typeWidth = Math.max(4, ...rows.map((r) => r.type.length));
  // Worker versioning on: which version each run is on (the column stays away when it is off).
  const versioned = rows.some((r) => r.version);
  const header = [
    'workflow id'.padEnd(idWidth),
    'type'.padEnd(typeWidth),
    'status'.padEnd(16),
    'started (UTC)'.padEnd(19),
    'closed (UTC)'.padEnd(19),
    'EmployeeId'.padEnd(versioned ? 12 : 0),
    ...(versioned ? ['version'] : []),
  ]
    .join('  ')
    .trimEnd();
  const lines = rows.map((r) =>
    [
      r.workflowId.padEnd(idWidth),
      r.type.padEnd(typeWidth),
      r.status.padEnd(16),
      shortTime(r.startTime).padEnd(19),
      shortTime(r.closeTime).padEnd(19),
      (r.employeeId ?? '-').padEnd(versioned ? 12 : 0),
      ...(versioned ? [r.version ?? '-'] : []),
    ]
      .join('  ')
      .trimEnd(),
  );
  return [header, ...lines, `${rows.length} run(s)`].join('\n');
}
