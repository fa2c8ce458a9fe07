import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { connectClient, deliverRecord, licenceReport, personState } from './client';
import { approveCommand } from './cli/approve';
import { educationImportCommand, hrImportCommand } from './cli/import';
import { parseEnv } from './config';
import { describeErrors, parseHrRecord } from './domain/record';
import { CLEANUP_USAGE, cleanupCommand } from './cli/cleanup';
import { explainCommand } from './cli/explain';
import { runPlan } from './cli/plan';
import { runsCommand } from './cli/runs';
import type { PersonState } from './workflows/messages';

// The `tunnus` CLI. Validation happens here, before anything reaches Temporal: a bad record or a
// CSV with a bad row is reported with its field (and line) and nothing is applied.

const USAGE = `usage:
  tunnus hire <record.json> [--wait]       deliver one HR record (JSON, camelCase fields)
  tunnus hr import <file.csv> [--accept-valid-rows] [--detach]
                                           import an HR CSV snapshot: only changed persons, with progress
  tunnus education import <file.csv> [--accept-valid-rows] [--detach]
                                           the same for the education snapshot (pupils, teaching staff)
  tunnus approve <workflowId> [--by <name>] approve a run the mass-change guard stopped
  tunnus person show <employeeId> [--json] the person's state as Tunnus knows it
  tunnus licences [--json]                 seats, used, free and people waiting, per managed SKU
  tunnus explain <employeeId> [--json]     each group, licence and OU with the rule granting it
  tunnus runs [--stage joiner|mover|rehire|leaver|delete|cleanup|import] [--since 7d] [--employee <id>] [--json]
                                           runs as Temporal visibility lists them
${CLEANUP_USAGE}  tunnus plan --record <file.json> | --hr <file.csv> | --education <file.csv> | --policy <new.yaml>
              [--json] [--all] [--save <plan.json>] [--concurrency N]
                                           what Tunnus would do, without writing anything
  tunnus plan apply <plan.json> [--policy-deployed]
                                           apply a saved plan if the state it read has not moved
`;

export class UsageError extends Error {}

export async function run(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  // These parse their own options. Imported statically: bin/tunnus.js runs through tsx's CommonJS
  // hook, under which a dynamic import() of a .ts module without extension cannot be resolved.
  if (argv[0] === 'plan') return runPlan(argv.slice(1), process.env, out);
  if (argv[0] === 'explain') return explainCommand(argv.slice(1), out);
  if (argv[0] === 'runs') return runsCommand(argv.slice(1), out);
  if (argv[0] === 'cleanup') return cleanupCommand(argv.slice(1), out);
  if (argv[0] === 'hr' && argv[1] === 'import') return hrImportCommand(argv.slice(2), out);
  if (argv[0] === 'education' && argv[1] === 'import') return educationImportCommand(argv.slice(2), out);
  if (argv[0] === 'approve') return approveCommand(argv.slice(1), out);
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, wait: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, sub, arg] = positionals;
  const print = (s: string) => out.write(`${s}\n`);
  if (values.help || !command) {
    print(USAGE);
    // Asked for help: success. No command at all: a usage error.
    return values.help ? 0 : 2;
  }
  const env = parseEnv();
  const withClient = async (fn: (client: Client) => Promise<number>) => {
    const client = await connectClient(env);
    try {
      return await fn(client);
    } finally {
      await client.connection.close();
    }
  };

  if (command === 'hire' && sub) {
    const parsed = parseHrRecord(readJson(sub));
    if (!parsed.ok) {
      print(`invalid record: ${describeErrors(parsed.errors)}`);
      return 1;
    }
    return withClient(async (client) => {
      const workflowId = await deliverRecord(client, parsed.value, 'hr', env.TEMPORAL_TASK_QUEUE);
      print(`delivered to ${workflowId}`);
      if (values.wait) {
        const state = await waitForSettled(client, parsed.value.employeeId);
        print(formatState(state));
        return state.stage === 'failed' ? 1 : 0;
      }
      return 0;
    });
  }
  if (command === 'licences') {
    return withClient(async (client) => {
      const rows = await licenceReport(client, env.TEMPORAL_TASK_QUEUE);
      if (values.json) print(JSON.stringify(rows, null, 2));
      else {
        print('sku                    seats   used   free  waiting');
        for (const r of rows) {
          print(
            `${r.sku.padEnd(20)} ${String(r.seats).padStart(7)} ${String(r.used).padStart(6)} ${String(r.free).padStart(6)} ${String(r.waiting).padStart(8)}`,
          );
        }
      }
      return 0;
    });
  }
  if (command === 'person' && sub === 'show' && arg) {
    return withClient(async (client) => {
      const state = await personState(client, arg);
      if (!state) {
        print(`no person ${arg}`);
        return 1;
      }
      print(values.json ? JSON.stringify(state, null, 2) : formatState(state));
      return 0;
    });
  }
  print(USAGE);
  return 2;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new UsageError(`cannot read ${file} as JSON: ${(err as Error).message}`);
  }
}

async function waitForSettled(client: Client, employeeId: string, timeoutMs = 120_000): Promise<PersonState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await personState(client, employeeId);
    const running = state?.runs.some((r) => !r.endedAt);
    if (state && !running && ['active', 'failed'].includes(state.stage)) return state;
    if (Date.now() > deadline) throw new Error(`person ${employeeId} did not settle within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function formatState(s: PersonState): string {
  const lines = [
    `person     ${s.employeeId}`,
    `stage      ${s.stage}`,
    `account    ${s.account ? `${s.account.sAMAccountName} (${s.account.userPrincipalName})` : '-'}`,
    `job        ${s.record ? `${s.record.jobCode} in ${s.record.orgUnit}, from ${s.record.startDate}` : '-'}`,
    `records    ${s.recordsReceived} received, ${s.duplicatesIgnored} duplicates ignored`,
  ];
  if (s.lastError) lines.push(`error      ${s.lastError.type}: ${s.lastError.message}`);
  lines.push('runs');
  for (const r of s.runs) lines.push(`  ${r.workflowId}  ${r.outcome ?? 'running'}  ${r.startedAt}`);
  lines.push('timeline');
  for (const t of s.timeline) lines.push(`  ${t.at}  ${t.event}${t.detail ? ` (${t.detail})` : ''}`);
  return lines.join('\n');
}

/** Entry point for bin/tunnus.js and `npm run tunnus`. */
export function cli(): void {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`tunnus: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}

if (require.main === module) cli();
