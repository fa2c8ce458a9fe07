import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { connectClient } from '../client';
import { parseEnv, type Env } from '../config';
import { DurationError, sinceInstant } from '../domain/durations';
import { employeeIdSchema } from '../domain/record';
import { EmployeeIdKey, LifecycleStageKey } from '../workflows/messages';

// `tunnus runs [--stage …] [--since 7d] [--employee E1001] [--json]`: runs as Temporal visibility
// lists them, the same query ops can type into the Web UI (printed with --verbose).

const USAGE = `usage: tunnus runs [--stage joiner|mover|rehire|leaver|delete|cleanup|import|person] [--since 7d|12h|YYYY-MM-DD]
                  [--employee <employeeId>] [--limit 100] [--json] [--verbose]`;

/** Stage names ops use → the workflow type that runs that stage. */
export const stageWorkflowTypes = {
  joiner: 'joinerWorkflow',
  mover: 'moverWorkflow',
  rehire: 'rehireWorkflow',
  leaver: 'leaverWorkflow',
  delete: 'deleteWorkflow',
  cleanup: 'cleanupWorkflow',
  import: 'importWorkflow',
  person: 'personWorkflow',
} as const;

export type Stage = keyof typeof stageWorkflowTypes;

export interface RunsFilter {
  stage?: Stage;
  since?: Date;
  employeeId?: string;
}

export interface RunRow {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  startTime: string;
  closeTime?: string;
  employeeId?: string;
  lifecycleStage?: string;
}

/**
 * The visibility query for a filter. Values are validated before they get here (stage from a
 * fixed list, employee id by the record schema), so quoting cannot be broken out of.
 */
export function runsQuery(filter: RunsFilter): string {
  const terms: string[] = [];
  if (filter.stage) terms.push(`WorkflowType = '${stageWorkflowTypes[filter.stage]}'`);
  if (filter.employeeId) terms.push(`EmployeeId = '${filter.employeeId}'`);
  // Visibility compares RFC 3339 instants; whole seconds read better in the Web UI.
  if (filter.since) terms.push(`StartTime >= '${filter.since.toISOString().replace(/\.\d{3}Z$/, 'Z')}'`);
  return terms.join(' AND ');
}

/** Newest first; at most `limit` rows, and whether visibility holds more. */
export async function listRuns(
  client: Client,
  filter: RunsFilter,
  limit = 100,
): Promise<{ rows: RunRow[]; more: boolean }> {
  const query = runsQuery(filter);
  const rows: RunRow[] = [];
  let more = false;
  for await (const run of client.workflow.list({
    ...(query ? { query } : {}),
    pageSize: Math.min(limit + 1, 1000),
  })) {
    if (rows.length === limit) {
      more = true;
      break;
    }
    const employeeId = run.typedSearchAttributes.get(EmployeeIdKey);
    const lifecycleStage = run.typedSearchAttributes.get(LifecycleStageKey);
    rows.push({
      workflowId: run.workflowId,
      runId: run.runId,
      type: run.type,
      status: run.status.name.toLowerCase().replace(/_/g, '-'),
      startTime: run.startTime.toISOString(),
      ...(run.closeTime ? { closeTime: run.closeTime.toISOString() } : {}),
      ...(employeeId ? { employeeId } : {}),
      ...(lifecycleStage ? { lifecycleStage } : {}),
    });
  }
  rows.sort((a, b) => b.startTime.localeCompare(a.startTime) || a.workflowId.localeCompare(b.workflowId));
  return { rows, more };
}

export class RunsUsageError extends Error {}

/** Validates the command line into a filter; the error names the option. */
export function parseRunsArgs(argv: string[], now: Date) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stage: { type: 'string' },
      since: { type: 'string' },
      employee: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (positionals.length > 0) throw new RunsUsageError(`unexpected argument ${positionals[0]}`);
  const filter: RunsFilter = {};
  if (values.stage !== undefined) {
    if (!Object.hasOwn(stageWorkflowTypes, values.stage)) {
      throw new RunsUsageError(`--stage must be one of ${Object.keys(stageWorkflowTypes).join(', ')}`);
    }
    filter.stage = values.stage as Stage;
  }
  if (values.employee !== undefined) {
    if (!employeeIdSchema.safeParse(values.employee).success) {
      throw new RunsUsageError('--employee must be an employee id (1-32 letters, digits or -)');
    }
    filter.employeeId = values.employee;
  }
  if (values.since !== undefined) {
    try {
      filter.since = sinceInstant(values.since, now);
    } catch (err) {
      if (err instanceof DurationError) throw new RunsUsageError(`--since: ${err.message}`);
      throw err;
    }
  }
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new RunsUsageError('--limit must be a whole number from 1 to 10000');
  }
  return { filter, limit, json: !!values.json, verbose: !!values.verbose, help: !!values.help };
}

export async function runsCommand(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  env: Env = parseEnv(),
  now = new Date(),
): Promise<number> {
  const print = (s: string) => out.write(`${s}\n`);
  let args: ReturnType<typeof parseRunsArgs>;
  try {
    args = parseRunsArgs(argv, now);
  } catch (err) {
    // parseArgs' own errors (unknown option, missing value) are usage errors too.
    print(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    print(USAGE);
    return 0;
  }
  const client = await connectClient(env);
  try {
    const { rows, more } = await listRuns(client, args.filter, args.limit);
    if (args.json) {
      print(JSON.stringify({ query: runsQuery(args.filter), runs: rows, more }, null, 2));
      return 0;
    }
    if (args.verbose) print(`query: ${runsQuery(args.filter) || '(all runs)'}`);
    print(formatRuns(rows));
    if (more)
      print(`(first ${args.limit} shown: narrow with --since, --stage or --employee, or raise --limit)`);
    return 0;
  } finally {
    await client.connection.close();
  }
}

const shortTime = (iso?: string) => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');

export function formatRuns(rows: RunRow[]): string {
  if (rows.length === 0) return 'no runs match';
  const idWidth = Math.max(11, ...rows.map((r) => r.workflowId.length));
  const typeWidth = Math.max(4, ...rows.map((r) => r.type.length));
  const header = [
    'workflow id'.padEnd(idWidth),
    'type'.padEnd(typeWidth),
    'status'.padEnd(16),
    'started (UTC)'.padEnd(19),
    'closed (UTC)'.padEnd(19),
    'EmployeeId',
  ].join('  ');
  const lines = rows.map((r) =>
    [
      r.workflowId.padEnd(idWidth),
      r.type.padEnd(typeWidth),
      r.status.padEnd(16),
      shortTime(r.startTime).padEnd(19),
      shortTime(r.closeTime).padEnd(19),
      r.employeeId ?? '-',
    ].join('  '),
  );
  return [header, ...lines, `${rows.length} run(s)`].join('\n');
}
