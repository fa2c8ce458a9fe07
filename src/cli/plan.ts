import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { cliOperator } from '../ops/approve';
import { deliverGuarded, describeOutcomes } from '../ops/deliver';
import { rollOut, rolloutLosses } from '../ops/rollout';
import type { RecordStore } from '../store/import-staging';
import { openRecordIndex } from '../store/open';
import { parseEnv, type Env } from '../config';
import { openIdentityKeys, type IdentityKeys } from '../crypto/identity-keys';
import type { EducationRecord } from '../domain/education';
import { parseEducationCsv } from '../domain/education-csv';
import { formatCsvErrors, parseHrCsv } from '../domain/hr-csv';
import { parsePolicy, type Policy } from '../domain/policy';
import { describeErrors, parseHrRecord, type HrRecord } from '../domain/record';
import type { PlanningDeps } from '../simulate/collect';
import { formatSummary, formatTable } from '../simulate/format';
import { changes, summarise, type PlanKind } from '../simulate/model';
import {
  findDrift,
  formatDrift,
  readSavedPlan,
  toSaved,
  writeSavedPlan,
  type SavedPlan,
} from '../simulate/saved';
import { CliContext } from './context';
import { CliError } from './errors';
import { ExitCode } from './exit-codes';
import { readInputFile, readJsonFile } from './files';
import { writeJsonWithList } from './json-out';
import { requirePlanInput } from './options';
import { runCommandLine } from './run';
import { connectTemporal } from './temporal';

// `tunnus plan`: what Tunnus would do, computed by the real run's planning code against the live
// directory, cloud and telephony state, without writing anything. `tunnus plan apply` applies a
// saved plan only if the state it was computed on has not moved.

/* eslint-disable @typescript-eslint/no-require-imports -- on purpose: see loadPlanning */
/**
 * The planner and the connectors, loaded once Temporal has answered: they are most of what this
 * command loads, and an unreachable server should be reported without waiting for them.
 */
const loadPlanning = () => ({
  ...(require('../simulate/collect') as typeof import('../simulate/collect')),
  ...(require('../simulate/records') as typeof import('../simulate/records')),
  ...(require('../wiring') as typeof import('../wiring')),
});
/* eslint-enable @typescript-eslint/no-require-imports */

/** The options as src/cli/program.ts parses them (the four inputs exclude each other there). */
export interface PlanOptions {
  record?: string;
  hr?: string;
  education?: string;
  policy?: string;
  json?: boolean;
  all?: boolean;
  save?: string;
  concurrency: number;
  cleanup?: boolean;
}

export async function plan(ctx: CliContext, options: PlanOptions): Promise<ExitCode> {
  requirePlanInput(options);
  // Validate the input before touching any server, as `hire` and `hr import` do.
  let kind: PlanKind;
  let records: HrRecord[] | undefined;
  let newPolicy: { policy: Policy; text: string; file: string } | undefined;
  let educationRows: EducationRecord[] | undefined;
  if (options.record) {
    kind = 'record';
    const parsed = parseHrRecord(readJsonFile(options.record), ctx.intakeRules());
    if (!parsed.ok) throw new CliError('invalid_input', `invalid record: ${describeErrors(parsed.errors)}`);
    records = [parsed.value];
  } else if (options.hr) {
    kind = 'hr';
    const { records: rows, errors } = parseHrCsv(readInputFile(options.hr), ctx.intakeRules());
    if (errors.length > 0) throw csvErrors(formatCsvErrors(errors), errors.length, options.hr);
    records = rows.map((r) => r.record);
  } else if (options.education) {
    kind = 'education';
    const { records: rows, errors } = parseEducationCsv(readInputFile(options.education), ctx.intakeRules());
    if (errors.length > 0) throw csvErrors(formatCsvErrors(errors), errors.length, options.education);
    educationRows = rows.map((r) => r.record);
  } else {
    kind = 'policy';
    const file = options.policy!; // requirePlanInput: one of the four is given
    const text = readInputFile(file);
    newPolicy = { policy: parsePolicy(text), text, file: path.resolve(file) };
  }

  return withSession(ctx.env, async (s) => {
    const policy = newPolicy?.policy ?? s.policy;
    let withoutRecord: string[] = [];
    let waitingForHr: string[] = [];
    if (educationRows) {
      // Each row as its person's workflow would merge it with the HR record it holds (read model).
      ({ records, waitingForHr } = await s.planning.mergeWithHeldRows(s.store.identities, educationRows));
    } else if (!records) {
      // Every managed identity's record, from the identity read model (no workflow query each).
      const managed = await s.planning.managedRecordsOf(s.store.identities);
      records = managed.records;
      withoutRecord = managed.withoutRecord;
    }
    const planner = s.planning.createPlanner({
      ...s.deps,
      directory: await directoryFor(s, records.length),
      cloud: await cloudFor(s, records.length),
      policy,
    });
    const asOf = ctx.now();
    const persons = await s.planning.collectPlans(planner, records, {
      asOf,
      concurrency: options.concurrency,
    });
    const managedCount = await s.store.identities.countManaged();
    const summary = summarise(kind, persons, managedCount, massChangePercent(policy));
    if (options.json) {
      const head = { kind, asOf: asOf.toISOString(), summary, withoutRecord, waitingForHr };
      await writeJsonWithList(ctx.out, head, 'persons', persons);
    } else {
      ctx.print(formatTable(persons, { all: !!options.all }));
      ctx.print('');
      ctx.print(formatSummary(summary));
      if (withoutRecord.length > 0)
        ctx.print(`not planned       ${withoutRecord.length} person workflows hold no record yet`);
      if (waitingForHr.length > 0)
        ctx.print(
          `not planned       ${waitingForHr.length} staff rows wait for their HR record (no run starts before it)`,
        );
    }
    if (options.save) {
      // A policy plan keeps the policy it replaces too: the rollout's guard compares the two.
      const policyRef = newPolicy
        ? {
            sha256: sha256(newPolicy.text),
            file: newPolicy.file,
            text: newPolicy.text,
            previousText: JSON.stringify(s.policy),
          }
        : s.policyRef;
      const saved = toSaved(
        {
          kind,
          asOf: asOf.toISOString(),
          taskQueue: s.env.TEMPORAL_TASK_QUEUE,
          policy: policyRef,
          records,
          ...(educationRows ? { education: educationRows } : {}),
          summary,
        },
        persons,
      );
      const file = options.save;
      await withIdentityKeys(s.env, (keys) => writeSavedPlan(file, saved, keys));
      if (!options.json) ctx.print(`saved to ${options.save}; apply with: tunnus plan apply ${options.save}`);
    }
    return ExitCode.Ok;
  });
}

export async function planApply(
  ctx: CliContext,
  file: string,
  options: { policyDeployed?: boolean },
): Promise<ExitCode> {
  readInputFile(file); // an unreadable file is a usage error, before anything connects
  let saved: SavedPlan;
  try {
    saved = await withIdentityKeys(ctx.env, (keys) => readSavedPlan(file, keys));
  } catch (err) {
    throw new CliError('invalid_input', (err as Error).message);
  }
  return withSession(ctx.env, (s) => applySaved(ctx, s, file, saved, !!options.policyDeployed));
}

/** The key store for a saved plan's integrity check, closed after. */
async function withIdentityKeys<T>(env: Env, fn: (keys: IdentityKeys) => Promise<T>): Promise<T> {
  const keys = openIdentityKeys(env);
  try {
    return await fn(keys);
  } finally {
    await keys.close();
  }
}

/** `tunnus plan …` with its arguments, for callers that hold one output stream (benches). */
export async function runPlan(
  argv: string[],
  processEnv: NodeJS.ProcessEnv,
  out: NodeJS.WritableStream,
): Promise<number> {
  return runCommandLine(['plan', ...argv], new CliContext(out, out, () => parseEnv(processEnv)));
}

function csvErrors(listing: string, count: number, file: string): CliError {
  return new CliError('invalid_input', `${listing}\n${count} error(s) in ${file}: nothing was planned`);
}

interface Session {
  env: Env;
  client: Client;
  /** The record store: the identity read model is where plans read the records. */
  store: RecordStore;
  planning: ReturnType<typeof loadPlanning>;
  deps: Omit<PlanningDeps, 'policy'>;
  policy: Policy;
  policyRef: { sha256: string; file: string };
}

/**
 * A Temporal client, then connectors for reading (read-only credentials suffice); all closed
 * after. Temporal first: it is the one every plan needs, and the cheapest to find missing.
 */
async function withSession(env: Env, fn: (s: Session) => Promise<ExitCode>): Promise<ExitCode> {
  const policyText = fs.readFileSync(env.TUNNUS_POLICY_FILE, 'utf8');
  const policy = parsePolicy(policyText);
  const client = await connectTemporal(env);
  const planning = loadPlanning();
  const closers: (() => Promise<void>)[] = [() => client.connection.close()];
  const store = openRecordIndex(env);
  closers.push(() => store.close());
  try {
    const directory = planning.createDirectoryFromEnv(
      env,
      undefined,
      'LDAP_BIND_PASSWORD is required (a read-only account suffices)',
    );
    closers.push(() => directory.close());
    const cloud = planning.createCloudDirectory(env);
    const phone = planning.createPhoneDirectoryFromEnv(env);
    closers.push(() => phone.close());
    return await fn({
      env,
      client,
      store,
      planning,
      deps: { directory, cloud, phone, baseDn: env.LDAP_BASE_DN },
      policy,
      policyRef: { sha256: sha256(policyText), file: path.resolve(env.TUNNUS_POLICY_FILE) },
    });
  } catch (err) {
    if (err instanceof planning.SimulationError) {
      // Never an empty table: a plan that could not read the state is no plan at all.
      throw new Error(`plan failed, nothing was planned: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    for (const close of closers.reverse()) await close();
  }
}

async function applySaved(
  ctx: CliContext,
  s: Session,
  file: string,
  saved: SavedPlan,
  policyDeployed: boolean,
): Promise<ExitCode> {
  const print = (text: string) => ctx.print(text);
  if (saved.taskQueue !== s.env.TEMPORAL_TASK_QUEUE) {
    throw new CliError(
      'refused',
      `${file} was planned for task queue ${saved.taskQueue}, not ${s.env.TEMPORAL_TASK_QUEUE}: nothing applied`,
    );
  }
  let policy: Policy;
  if (saved.kind === 'policy') {
    policy = parsePolicy(saved.policy.text ?? '');
  } else {
    if (saved.policy.sha256 !== s.policyRef.sha256) {
      throw new CliError(
        'refused',
        `the policy (${s.policyRef.file}) changed since the plan was made: nothing applied; plan again`,
      );
    }
    policy = s.policy;
  }

  // The records to plan again: a record or snapshot plan brings its own; a policy plan reads the
  // persons' current records, since HR may have changed one since.
  const current = new Map<string, HrRecord | null>();
  if (saved.kind === 'policy') {
    const ids = saved.records.map((r) => r.employeeId);
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await s.store.identities.getMany(ids.slice(i, i + 500));
      for (const id of ids.slice(i, i + 500)) current.set(id, rows.get(id)?.record ?? null);
    }
  } else if (saved.kind === 'education') {
    // The rows merged again with the HR records held now: an HR change since is drift.
    const merged = await s.planning.mergeWithHeldRows(s.store.identities, saved.education ?? []);
    for (const r of saved.records) current.set(r.employeeId, null);
    for (const r of merged.records) current.set(r.employeeId, r);
  } else {
    for (const r of saved.records) current.set(r.employeeId, r);
  }
  const toPlan = saved.records.map((r) => current.get(r.employeeId)).filter((r): r is HrRecord => !!r);
  const directory = await directoryFor(s, toPlan.length);
  const cloud = await cloudFor(s, toPlan.length);
  const fresh = await s.planning.collectPlans(
    s.planning.createPlanner({ ...s.deps, directory, cloud, policy }),
    toPlan,
  );
  const drift = findDrift(saved, fresh, current);
  if (drift.length > 0) {
    throw new CliError(
      'refused',
      `${drift.length} person(s) moved since the plan was made; nothing was applied:\n` +
        `${formatDrift(drift)}\nplan again and review the new plan`,
    );
  }

  if (saved.kind !== 'policy') {
    const deliveries: { record: HrRecord | EducationRecord; source: 'hr' | 'education' }[] =
      saved.kind === 'education'
        ? (saved.education ?? []).map((record) => ({ record, source: 'education' as const }))
        : saved.records.map((record) => ({ record, source: 'hr' as const }));
    // Through the one intake use-case: what takes access away beyond the mass-change threshold
    // waits in the held set for approval (src/ops/intake.ts).
    const outcomes = await deliverGuarded(
      { client: s.client, env: s.env, policy, origin: `plan-apply:${cliOperator()}` },
      deliveries,
    );
    print(`state unchanged for all ${fresh.length} persons; ${describeOutcomes(outcomes)}`);
    return outcomes.some((o) => o.status === 'held') ? ExitCode.AwaitingApproval : ExitCode.Ok;
  }
  const changing = fresh.filter(changes);
  // The policy the persons were planned with before: kept in the saved plan when it was made.
  const previous = saved.policy.previousText ? parsePolicy(saved.policy.previousText) : s.policy;
  const changingRecords = changing.map((p) => current.get(p.employeeId)).filter((r): r is HrRecord => !!r);
  if (!policyDeployed) {
    print(`state unchanged for all ${fresh.length} persons; ${changing.length} would change.`);
    print(
      `Roll the policy out first: deploy ${saved.policy.file} (sha256 ${saved.policy.sha256.slice(0, 12)}…)`,
    );
    print('as TUNNUS_POLICY_FILE on every worker and restart them; then run');
    print(`  tunnus plan apply ${file} --policy-deployed`);
    print(`to have those ${changing.length} persons planned and applied again with it. Nothing was applied.`);
    const losing = rolloutLosses(changingRecords, previous, policy, new Date()).length;
    if (losing > 0) {
      print(
        `${losing} of them would lose groups, licences or access: past the mass-change threshold they wait ` +
          'for approval (tunnus approve mass-change-hold).',
      );
    }
    return ExitCode.Ok;
  }
  // The rollout through the mass-change guard: those losing access beyond the threshold wait.
  const store = openRecordIndex(s.env);
  try {
    const rolled = await rollOut({
      client: s.client,
      taskQueue: s.env.TEMPORAL_TASK_QUEUE,
      store,
      previous,
      next: policy,
      changing: changingRecords,
      origin: `plan-apply:${cliOperator()}`,
    });
    print(
      `state unchanged; ${rolled.replanned.length} persons signalled to plan again with the deployed policy`,
    );
    if (rolled.held.length > 0) {
      print(
        `${rolled.held.length} persons held for approval: ${rolled.admission.verdict === 'needsApproval' ? rolled.admission.reason : ''}`,
      );
      print('approve with: tunnus approve mass-change-hold');
      return ExitCode.AwaitingApproval;
    }
    return ExitCode.Ok;
  } finally {
    await store.close();
  }
}

/** From this many persons on, one listing of all accounts beats a lookup per person. */
const PREFETCH_FROM = 100;

async function directoryFor(s: Session, persons: number) {
  return persons >= PREFETCH_FROM ? s.planning.prefetchedDirectory(s.deps.directory) : s.deps.directory;
}

/** Likewise the cloud users: one listing instead of a filtered Graph call per person. */
async function cloudFor(s: Session, persons: number) {
  return persons >= PREFETCH_FROM ? s.planning.prefetchedCloud(s.deps.cloud) : s.deps.cloud;
}

/** The threshold the real runs use (policy `safety.massChangeThresholdPercent`, default 5). */
function massChangePercent(policy: Policy): number {
  return policy.safety.massChangeThresholdPercent;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
