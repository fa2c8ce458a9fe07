import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { connectClient, deliverRecord, inBatches, personState } from '../client';
import { parseEnv, type Env } from '../config';
import type { EducationRecord } from '../domain/education';
import { parseEducationCsv } from '../domain/education-csv';
import { formatCsvErrors, parseHrCsv } from '../domain/hr-csv';
import { parsePolicy, type Policy } from '../domain/policy';
import { describeErrors, parseHrRecord, type HrRecord } from '../domain/record';
import {
  collectPlans,
  createPlanner,
  prefetchedDirectory,
  SimulationError,
  type PlanningDeps,
} from '../simulate/collect';
import { formatSummary, formatTable } from '../simulate/format';
import { changes, massChange, summarise, type PersonPlan, type PlanKind } from '../simulate/model';
import { countManaged, managedRecords, mergeWithHeld } from '../simulate/records';
import { findDrift, formatDrift, readSavedPlan, toSaved, writeSavedPlan } from '../simulate/saved';
import { createCloudDirectory, createDirectoryFromEnv, createPhoneDirectoryFromEnv } from '../wiring';
import { personWorkflowId, replanSignal } from '../workflows/messages';

// `tunnus plan`: what Tunnus would do, computed by the real run's planning code against the live
// directory, cloud and telephony state, without writing anything. `tunnus plan apply` applies a
// saved plan only if the state it was computed on has not moved.

export const PLAN_USAGE = `  tunnus plan --record <file.json> | --hr <file.csv> | --education <file.csv> | --policy <new-policy.yaml>
              [--json] [--all] [--save <plan.json>] [--concurrency N]
                                           what Tunnus would do, without writing anything
  tunnus plan apply <plan.json> [--policy-deployed]
                                           apply a saved plan if the state it read has not moved
`;

type Print = (s: string) => void;

export async function runPlan(
  argv: string[],
  processEnv: NodeJS.ProcessEnv,
  out: NodeJS.WritableStream,
): Promise<number> {
  const print: Print = (s) => out.write(`${s}\n`);
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      record: { type: 'string' },
      hr: { type: 'string' },
      education: { type: 'string' },
      policy: { type: 'string' },
      cleanup: { type: 'boolean' },
      json: { type: 'boolean' },
      all: { type: 'boolean' },
      save: { type: 'string' },
      concurrency: { type: 'string' },
      'policy-deployed': { type: 'boolean' },
    },
  });
  const concurrency = values.concurrency ? Number(values.concurrency) : 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    print('--concurrency must be a positive integer');
    return 2;
  }
  if (values.cleanup) {
    print(
      'tunnus plan --cleanup is not yet available; `tunnus cleanup run --mode report` reports what the cleanup would do',
    );
    return 2;
  }
  if (positionals[0] === 'apply') {
    if (!positionals[1]) {
      print(PLAN_USAGE);
      return 2;
    }
    return withSession(processEnv, (s) => applySaved(s, positionals[1]!, !!values['policy-deployed'], print));
  }
  const inputs = [values.record, values.hr, values.education, values.policy].filter((v) => v !== undefined);
  if (inputs.length !== 1 || positionals.length > 0) {
    print(`usage:\n${PLAN_USAGE}`);
    return 2;
  }

  // Validate the input before touching any server, as `hire` and `hr import` do.
  let kind: PlanKind;
  let records: HrRecord[] | undefined;
  let newPolicy: { policy: Policy; text: string; file: string } | undefined;
  let educationRows: EducationRecord[] | undefined;
  if (values.record) {
    kind = 'record';
    const parsed = parseHrRecord(readJson(values.record));
    if (!parsed.ok) {
      print(`invalid record: ${describeErrors(parsed.errors)}`);
      return 1;
    }
    records = [parsed.value];
  } else if (values.hr) {
    kind = 'hr';
    const { records: rows, errors } = parseHrCsv(fs.readFileSync(values.hr, 'utf8'));
    if (errors.length > 0) {
      print(formatCsvErrors(errors));
      print(`${errors.length} error(s) in ${values.hr}: nothing was planned`);
      return 1;
    }
    records = rows.map((r) => r.record);
  } else if (values.education) {
    kind = 'education';
    const { records: rows, errors } = parseEducationCsv(fs.readFileSync(values.education, 'utf8'));
    if (errors.length > 0) {
      print(formatCsvErrors(errors));
      print(`${errors.length} error(s) in ${values.education}: nothing was planned`);
      return 1;
    }
    educationRows = rows.map((r) => r.record);
  } else {
    kind = 'policy';
    const file = values.policy!;
    const text = fs.readFileSync(file, 'utf8');
    newPolicy = { policy: parsePolicy(text), text, file: path.resolve(file) };
  }

  return withSession(processEnv, async (s) => {
    const policy = newPolicy?.policy ?? s.policy;
    let withoutRecord: string[] = [];
    let waitingForHr: string[] = [];
    if (educationRows) {
      // Each row as its person's workflow would merge it with the HR record it holds.
      ({ records, waitingForHr } = await mergeWithHeld(s.client, educationRows));
    } else if (!records) {
      const managed = await managedRecords(s.client, s.env.TEMPORAL_TASK_QUEUE, { concurrency: 32 });
      records = managed.records;
      withoutRecord = managed.withoutRecord;
    }
    const planner = createPlanner({ ...s.deps, directory: await directoryFor(s, records.length), policy });
    const asOf = new Date();
    const persons = await collectPlans(planner, records, { asOf, concurrency });
    const managedCount = await countManaged(s.client, s.env.TEMPORAL_TASK_QUEUE);
    const summary = summarise(kind, persons, managedCount, massChangePercent(policy));
    if (values.json) {
      print(
        JSON.stringify(
          { kind, asOf: asOf.toISOString(), summary, withoutRecord, waitingForHr, persons },
          null,
          2,
        ),
      );
    } else {
      print(formatTable(persons, { all: !!values.all }));
      print('');
      print(formatSummary(summary));
      if (withoutRecord.length > 0)
        print(`not planned       ${withoutRecord.length} person workflows hold no record yet`);
      if (waitingForHr.length > 0)
        print(
          `not planned       ${waitingForHr.length} staff rows wait for their HR record (no run starts before it)`,
        );
    }
    if (values.save) {
      const policyRef = newPolicy
        ? { sha256: sha256(newPolicy.text), file: newPolicy.file, text: newPolicy.text }
        : s.policyRef;
      writeSavedPlan(
        values.save,
        toSaved(
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
        ),
      );
      if (!values.json) print(`saved to ${values.save}; apply with: tunnus plan apply ${values.save}`);
    }
    return 0;
  });
}

interface Session {
  env: Env;
  client: Client;
  deps: Omit<PlanningDeps, 'policy'>;
  policy: Policy;
  policyRef: { sha256: string; file: string };
}

/** Connectors for reading (read-only credentials suffice) and a Temporal client; closed after. */
async function withSession(
  processEnv: NodeJS.ProcessEnv,
  fn: (s: Session) => Promise<number>,
): Promise<number> {
  const env = parseEnv(processEnv);
  const directory = createDirectoryFromEnv(
    env,
    undefined,
    'LDAP_BIND_PASSWORD is required (a read-only account suffices)',
  );
  const policyText = fs.readFileSync(env.TUNNUS_POLICY_FILE, 'utf8');
  const policy = parsePolicy(policyText);
  const cloud = createCloudDirectory(env);
  const phone = createPhoneDirectoryFromEnv(env);
  let client: Client | undefined;
  try {
    client = await connectClient(env);
    return await fn({
      env,
      client,
      deps: { directory, cloud, phone, baseDn: env.LDAP_BASE_DN },
      policy,
      policyRef: { sha256: sha256(policyText), file: path.resolve(env.TUNNUS_POLICY_FILE) },
    });
  } catch (err) {
    if (err instanceof SimulationError) {
      // Never an empty table: a plan that could not read the state is no plan at all.
      throw new Error(`plan failed, nothing was planned: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    await client?.connection.close();
    await phone.close();
    await directory.close();
  }
}

async function applySaved(s: Session, file: string, policyDeployed: boolean, print: Print): Promise<number> {
  const saved = readSavedPlan(file);
  if (saved.taskQueue !== s.env.TEMPORAL_TASK_QUEUE) {
    print(
      `${file} was planned for task queue ${saved.taskQueue}, not ${s.env.TEMPORAL_TASK_QUEUE}: nothing applied`,
    );
    return 1;
  }
  let policy: Policy;
  if (saved.kind === 'policy') {
    policy = parsePolicy(saved.policy.text ?? '');
  } else {
    if (saved.policy.sha256 !== s.policyRef.sha256) {
      print(`the policy (${s.policyRef.file}) changed since the plan was made: nothing applied; plan again`);
      return 1;
    }
    policy = s.policy;
  }

  // The records to plan again: a record or snapshot plan brings its own; a policy plan reads the
  // persons' current records, since HR may have changed one since.
  const current = new Map<string, HrRecord | null>();
  if (saved.kind === 'policy') {
    await inBatches(saved.records, 32, async (r) => {
      current.set(r.employeeId, (await personState(s.client, r.employeeId))?.record ?? null);
    });
  } else if (saved.kind === 'education') {
    // The rows merged again with the HR records held now: an HR change since is drift.
    const merged = await mergeWithHeld(s.client, saved.education ?? []);
    for (const r of saved.records) current.set(r.employeeId, null);
    for (const r of merged.records) current.set(r.employeeId, r);
  } else {
    for (const r of saved.records) current.set(r.employeeId, r);
  }
  const toPlan = saved.records.map((r) => current.get(r.employeeId)).filter((r): r is HrRecord => !!r);
  const directory = await directoryFor(s, toPlan.length);
  const fresh = await collectPlans(createPlanner({ ...s.deps, directory, policy }), toPlan);
  const drift = findDrift(saved, fresh, current);
  if (drift.length > 0) {
    print(`${drift.length} person(s) moved since the plan was made; nothing was applied:`);
    print(formatDrift(drift));
    print('plan again and review the new plan');
    return 1;
  }

  if (saved.kind !== 'policy') {
    const guard = massChange(
      fresh,
      await countManaged(s.client, s.env.TEMPORAL_TASK_QUEUE),
      massChangePercent(policy),
    );
    if (guard.trips) {
      // This path delivers records directly; the import workflow is the one that asks for approval.
      print(
        `the plan would disable ${guard.disables} and delete ${guard.deletes} of ${guard.managed} managed identities ` +
          `(${guard.percent} %, threshold ${guard.thresholdPercent} %): nothing applied; import the snapshot with ` +
          (saved.kind === 'education' ? '`tunnus education import`' : '`tunnus hr import`') +
          ', which stops for approval',
      );
      return 1;
    }
    const deliveries: [HrRecord | EducationRecord, 'hr' | 'education'][] =
      saved.kind === 'education'
        ? (saved.education ?? []).map((r) => [r, 'education'])
        : saved.records.map((r) => [r, 'hr']);
    await inBatches(deliveries, 32, async ([record, source]) => {
      await deliverRecord(s.client, record, source, s.env.TEMPORAL_TASK_QUEUE);
    });
    print(`state unchanged for all ${fresh.length} persons; ${deliveries.length} records delivered`);
    return 0;
  }

  const changing = fresh.filter(changes);
  if (!policyDeployed) {
    print(`state unchanged for all ${fresh.length} persons; ${changing.length} would change.`);
    print(
      `Roll the policy out first: deploy ${saved.policy.file} (sha256 ${saved.policy.sha256.slice(0, 12)}…)`,
    );
    print('as TUNNUS_POLICY_FILE on every worker and restart them; then run');
    print(`  tunnus plan apply ${file} --policy-deployed`);
    print(`to have those ${changing.length} persons planned and applied again with it. Nothing was applied.`);
    return 0;
  }
  await signalReplan(s.client, changing);
  print(`state unchanged; ${changing.length} persons signalled to plan again with the deployed policy`);
  return 0;
}

/** From this many persons on, one listing of all accounts beats a lookup per person. */
const PREFETCH_FROM = 100;

async function directoryFor(s: Session, persons: number) {
  return persons >= PREFETCH_FROM ? prefetchedDirectory(s.deps.directory) : s.deps.directory;
}

/** Only the persons the plan changes: re-planning everyone would start thousands of empty runs. */
async function signalReplan(client: Client, persons: PersonPlan[]): Promise<void> {
  await inBatches(persons, 32, async (p) => {
    await client.workflow
      .getHandle(personWorkflowId(p.employeeId))
      .signal(replanSignal, { reason: 'policy change' });
  });
}

/** The threshold the real runs use (policy `safety.massChangeThresholdPercent`, default 5). */
function massChangePercent(policy: Policy): number {
  return policy.safety.massChangeThresholdPercent;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new Error(`cannot read ${file} as JSON: ${(err as Error).message}`);
  }
}
