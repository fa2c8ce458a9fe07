import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { stringify as stringifyYaml } from 'yaml';
import { deliverRecord, personState } from '../../src/ops/persons';
import { inBatches } from '../../src/in-batches';
import { helsinkiDate } from '../../src/domain/dates';
import { parsePolicy, type Policy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { changes, type PersonPlan, type PlanSummary } from '../../src/simulate/model';
import { run as cli } from '../../src/starter';
import { buildWorker } from '../../src/worker';
import type { PersonState } from '../../src/workflows/messages';
import { lastRunResult } from '../support/run-result';
import { ensureSamba } from '../../sandbox/samba';
import { HR_EXPORT_COLUMNS, hrCsv } from '../support/hr-csv';
import { eventually, startStack, type Stack } from '../support/stack';
import { workflowBundle } from '../support/temporal';

// `tunnus plan` against Samba AD, the Graph and telephony simulators and the dev server: plans
// list exactly what the real run then applies, re-planning after a run is empty, saved plans are
// refused when the state moved, and a plan without a directory fails instead of reading as empty.

const runId = Date.now().toString(36).toUpperCase();
// Names end in a letter: a trailing digit reads as a collision number in the mail address.
const nameTag = `${runId}x`;
let seq = 0;
const nextId = (prefix: string) => `${prefix}${runId}-${++seq}`;
const today = () => helsinkiDate(new Date());
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-plan-'));
const tmpFile = (name: string, text: string) => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
};

function person(overrides: Partial<HrRecord> & { employeeId: string }): HrRecord {
  return {
    firstNames: 'Aino',
    lastName: `Suunnitelma${nameTag}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: today(),
    ...overrides,
  };
}

// No end_date column, LF line ends and none after the last row (the exports differ; both are read).
const csvOf = (records: HrRecord[]) =>
  hrCsv(records, { columns: HR_EXPORT_COLUMNS.slice(0, -1), eol: '\n', finalEol: false });

interface JsonPlan {
  summary: PlanSummary;
  persons: PersonPlan[];
}

describe('tunnus plan against Samba AD, the simulators and the dev server', () => {
  let stack: Stack;
  let stopWorker: () => Promise<void>;

  before(async () => {
    stack = await startStack();
    stopWorker = (await stack.startWorker()).stop;
    // The CLI reads its configuration from the environment, as in production.
    Object.assign(process.env, stack.childEnv());
  });
  after(async () => {
    await stopWorker();
    await stack.close();
  });

  async function tunnus(...args: string[]): Promise<{ code: number; out: string }> {
    const chunks: string[] = [];
    const code = await cli(args, {
      write: (s: string) => chunks.push(s),
    } as unknown as NodeJS.WritableStream);
    return { code, out: chunks.join('') };
  }
  async function planJson(...args: string[]): Promise<JsonPlan> {
    const { code, out } = await tunnus('plan', ...args, '--json');
    assert.equal(code, 0, out);
    return JSON.parse(out) as JsonPlan;
  }
  const changing = (plan: JsonPlan) => plan.persons.filter(changes).map((p) => p.employeeId);

  /** Waits until the person has `runs` finished runs and is active. */
  const settled = (id: string, runs: number, timeoutMs = 180_000) =>
    eventually(
      () => personState(stack.client, id),
      (s): s is PersonState =>
        !!s && s.stage === 'active' && s.runs.length === runs && s.runs.every((r) => r.endedAt),
      timeoutMs,
      `person ${id} settled after ${runs} runs`,
    ) as Promise<PersonState>;
  const lastResult = (id: string) => lastRunResult(stack.client, id);
  const deliverAll = (records: HrRecord[]) =>
    inBatches(records, 32, async (r) => void (await deliverRecord(stack.client, r, 'hr', stack.taskQueue)));

  it('a policy change adding a group to 300 nurses: the plan lists exactly those 300, applying changes exactly those, re-planning is empty', async () => {
    const nurses = Array.from({ length: 300 }, (_, i) =>
      person({
        employeeId: nextId('PN'),
        firstNames: ['Aino', 'Eeva', 'Helmi', 'Venla'][i % 4]!,
        lastName: `Hoitaja${nameTag}${'abcdefghijklmnopqrstuvwxy'[i % 25]}`,
      }),
    );
    const others = [
      ...Array.from({ length: 20 }, () =>
        person({ employeeId: nextId('PO'), jobTitle: 'Sihteeri', jobCode: 'HS01', orgUnit: 'HALL-010' }),
      ),
      ...Array.from({ length: 10 }, () =>
        person({ employeeId: nextId('PL'), jobTitle: 'Lääkäri', jobCode: 'LK01', orgUnit: 'SOTE-120' }),
      ),
    ];
    await deliverAll([...nurses, ...others]);
    for (const r of [...nurses, ...others]) await settled(r.employeeId, 1, 600_000);

    // The new policy: nurses get one more care-ERP group.
    const newPolicy: Policy = structuredClone(stack.policy);
    newPolicy.roles.find((r) => r.name === 'nurse')!.groups.push('ERP-Medication');
    const newPolicyFile = tmpFile('new-policy.yaml', stringifyYaml(newPolicy));

    // Before the group exists the plan says the run would fail for it.
    const early = await planJson('--policy', newPolicyFile);
    assert.equal(early.summary.warnings, 300);
    await ensureSamba({ policyFile: newPolicyFile }); // creates the group, as an admin would

    const planFile = path.join(tmp, 'policy-plan.json');
    const plan = await planJson('--policy', newPolicyFile, '--save', planFile);
    const nurseIds = nurses.map((n) => n.employeeId).sort();
    assert.deepEqual(changing(plan).sort(), nurseIds, 'exactly the 300 nurses change');
    for (const p of plan.persons.filter((p) => nurseIds.includes(p.employeeId))) {
      assert.deepEqual(p.steps, ['add to ERP-Medication'], p.employeeId);
    }
    assert.equal(plan.summary.persons, 330);
    assert.equal(plan.summary.changing, 300);
    assert.deepEqual(plan.summary.groupsAdded, { 'ERP-Medication': 300 });
    assert.equal(plan.summary.warnings, 0);
    assert.equal(plan.summary.massChange.trips, false);

    const before = new Map(
      await Promise.all(
        others.map(
          async (r) => [r.employeeId, await stack.directory.findByEmployeeId(r.employeeId)] as const,
        ),
      ),
    );

    // Without the rollout confirmed, apply only verifies and says what to do.
    const dry = await tunnus('plan', 'apply', planFile);
    assert.equal(dry.code, 0, dry.out);
    assert.match(dry.out, /state unchanged for all 330 persons; 300 would change/);
    assert.match(dry.out, /Nothing was applied/);
    assert.equal((await personState(stack.client, nurseIds[0]!))?.runs.length, 1, 'nothing signalled');

    // Roll out: the worker restarts with the new policy; then apply signals the 300.
    await stopWorker();
    stopWorker = await startWorkerWith(stack, newPolicy);
    process.env.TUNNUS_POLICY_FILE = newPolicyFile;
    const applied = await tunnus('plan', 'apply', planFile, '--policy-deployed');
    assert.equal(applied.code, 0, applied.out);
    assert.match(applied.out, /300 persons signalled/);

    for (const id of nurseIds) {
      await settled(id, 2);
      assert.deepEqual((await lastResult(id)).applied, ['add to ERP-Medication'], id);
      const account = await stack.directory.findByEmployeeId(id);
      assert.ok(
        account?.memberOf.some((dn) => /^CN=ERP-Medication,/i.test(dn)),
        id,
      );
    }
    for (const r of others) {
      assert.equal(
        (await personState(stack.client, r.employeeId))?.runs.length,
        1,
        `${r.employeeId}: no new run`,
      );
      assert.deepEqual(await stack.directory.findByEmployeeId(r.employeeId), before.get(r.employeeId));
    }

    const again = await planJson('--policy', newPolicyFile);
    assert.equal(again.summary.changing, 0, 'the re-plan is empty');
    assert.equal(again.summary.persons, 330);
  });

  it('a record plan for a new nurse lists the account, groups, cloud user, licence and catalogue entry, and writes nothing', async () => {
    const id = nextId('R');
    const file = tmpFile(`${id}.json`, JSON.stringify(person({ employeeId: id })));
    const { persons, summary } = await planJson('--record', file);
    assert.equal(persons.length, 1);
    const p = persons[0]!;
    assert.deepEqual(p.steps, [
      'create AD account (disabled)',
      'add to All-Staff, Care-Staff, ERP-Medication, ERP-Nurse',
      'enable account',
    ]);
    assert.equal(p.cloudUser, 'create');
    assert.deepEqual(p.licences?.add, ['SPE_E3']);
    assert.equal(p.phone?.catalogue, 'create');
    assert.equal(summary.actions.create, 1);
    assert.equal(await stack.directory.findByEmployeeId(id), null, 'no account');
    assert.equal(await stack.cloud.findUserByEmployeeId(id), null, 'no cloud user');
    assert.equal(await stack.phone.getCatalogueEntry(id), null, 'no catalogue entry');
    assert.equal(await personState(stack.client, id), null, 'no workflow');

    const table = await tunnus('plan', '--record', file);
    assert.equal(table.code, 0);
    assert.match(
      table.out,
      new RegExp(
        `${id} +create, groups, enable, cloud user, first day \\(temporaryAccessPass\\) +\\+All-Staff`,
      ),
    );
    assert.match(table.out, /persons planned +1 \(1 would change, 0 unchanged\)/);
  });

  it('applying an HR snapshot changes exactly what its plan listed, and planning again is empty', async () => {
    const stay = person({ employeeId: nextId('H') });
    const mover = person({ employeeId: nextId('H') });
    const retitled = person({
      employeeId: nextId('H'),
      jobCode: 'HS01',
      orgUnit: 'HALL-010',
      jobTitle: 'Sihteeri',
    });
    await deliverAll([stay, mover, retitled]);
    for (const r of [stay, mover, retitled]) await settled(r.employeeId, 1);

    const snapshot = [
      stay,
      { ...mover, jobCode: 'OP01', orgUnit: 'KASV-200', jobTitle: 'Opettaja' },
      { ...retitled, jobTitle: 'Johtava sihteeri' },
      person({ employeeId: nextId('H') }),
      person({ employeeId: nextId('H'), jobCode: 'HS01', orgUnit: 'TEKN-300', jobTitle: 'Insinööri' }),
      person({ employeeId: nextId('H'), jobCode: 'SH01', orgUnit: 'SOTE-400', employmentType: 'substitute' }),
    ];
    const csv = tmpFile('snapshot.csv', csvOf(snapshot));
    const planFile = path.join(tmp, 'hr-plan.json');
    const plan = await planJson('--hr', csv, '--save', planFile);
    const byId = new Map(plan.persons.map((p) => [p.employeeId, p]));
    assert.deepEqual(byId.get(stay.employeeId)?.steps, [], 'an unchanged person has no steps');
    assert.deepEqual(byId.get(mover.employeeId)?.steps, [
      'move account to role OU',
      'update title, department',
      'remove from Care-Staff, ERP-Medication, ERP-Nurse',
      'add to Teachers',
    ]);
    assert.deepEqual(byId.get(mover.employeeId)?.licences, {
      add: ['M365EDU_A3_FACULTY'],
      remove: ['SPE_E3'],
      replace: [],
      shortOfSeats: [],
      unknown: [],
    });
    assert.deepEqual(byId.get(retitled.employeeId)?.steps, ['update title']);
    assert.equal(plan.summary.actions.create, 3);

    const applied = await tunnus('plan', 'apply', planFile);
    assert.equal(applied.code, 0, applied.out);
    assert.match(applied.out, /6 records delivered/);

    for (const r of snapshot) {
      const p = byId.get(r.employeeId)!;
      if (r === stay) {
        await eventually(
          () => personState(stack.client, r.employeeId),
          (s) => s?.duplicatesIgnored === 1,
          30_000,
        );
        assert.equal(
          (await personState(stack.client, r.employeeId))?.runs.length,
          1,
          'no run for an unchanged record',
        );
        continue;
      }
      const isNew = ![mover, retitled].some((m) => m.employeeId === r.employeeId);
      await settled(r.employeeId, isNew ? 1 : 2);
      const result = await lastResult(r.employeeId);
      assert.deepEqual(
        result.applied,
        [...p.steps, ...firstDayLines(p)],
        `${r.employeeId}: the run applied exactly the planned steps`,
      );
      assert.equal(Boolean(result.handover), Boolean(p.firstDay), `${r.employeeId}: first day as planned`);
      assert.deepEqual(
        result.licences.sort(),
        [...(p.licences?.add ?? [])].sort(),
        `${r.employeeId}: licences`,
      );
    }
    // The AD state is what the plan described for the mover.
    const moved = await stack.directory.findByEmployeeId(mover.employeeId);
    assert.match(moved!.ou, /^OU=Education,OU=Staff,OU=Tunnus,/i);
    assert.deepEqual(moved!.memberOf.map((dn) => /^CN=([^,]+)/i.exec(dn)?.[1]).sort(), [
      'All-Staff',
      'Teachers',
    ]);

    const again = await planJson('--hr', csv);
    assert.equal(again.summary.changing, 0, `re-plan is empty: ${JSON.stringify(changing(again))}`);
  });

  it('a saved plan whose state moved is refused, says who and what moved, and applies nothing', async () => {
    const existing = person({
      employeeId: nextId('S'),
      jobCode: 'HS01',
      orgUnit: 'HALL-010',
      jobTitle: 'Sihteeri',
    });
    await deliverAll([existing]);
    await settled(existing.employeeId, 1);
    const newcomer = person({ employeeId: nextId('S') });
    const csv = tmpFile('stale.csv', csvOf([{ ...existing, jobTitle: 'Kirjaaja' }, newcomer]));
    const planFile = path.join(tmp, 'stale-plan.json');
    await planJson('--hr', csv, '--save', planFile);

    // Someone grants a managed group by hand after the plan was made.
    const account = await stack.directory.findByEmployeeId(existing.employeeId);
    await stack.directory.addToGroup((await stack.directory.findGroup('Legacy-Intranet'))!, account!.dn);

    const refused = await tunnus('plan', 'apply', planFile);
    assert.equal(refused.code, 1);
    assert.match(refused.out, /1 person\(s\) moved since the plan was made; nothing was applied/);
    assert.match(refused.out, new RegExp(`${existing.employeeId}: groups \\+Legacy-Intranet`));
    assert.equal(
      await personState(stack.client, newcomer.employeeId),
      null,
      'the newcomer was not delivered',
    );
    assert.equal((await personState(stack.client, existing.employeeId))?.recordsReceived, 1);
  });

  it('a plan computed while AD is down fails with a clear error, never an empty plan', async () => {
    // A managed person, so that the policy plan has someone to read from AD.
    const managed = person({ employeeId: nextId('D') });
    await deliverAll([managed]);
    await settled(managed.employeeId, 1);
    const file = tmpFile('down.json', JSON.stringify(person({ employeeId: nextId('D') })));
    await stack.samba.stop();
    try {
      await assert.rejects(
        tunnus('plan', '--record', file),
        /plan failed, nothing was planned: cannot plan D.*DirectoryUnavailable/,
      );
      await assert.rejects(
        tunnus('plan', '--policy', process.env.TUNNUS_POLICY_FILE!),
        /plan failed, nothing was planned: cannot .*DirectoryUnavailable/,
      );
    } finally {
      await stack.samba.start();
    }
    const ok = await planJson('--record', file);
    assert.equal(ok.persons.length, 1, 'plans again once AD is back');
  });

  it('an education snapshot plans pupils and teachers as the runs merge them, and applying it changes exactly that', async () => {
    const school = `K${runId.slice(-6)}`;
    const teacher = person({
      employeeId: nextId('T'),
      jobCode: 'OP01',
      orgUnit: 'KASV-210',
      jobTitle: 'Opettaja',
    });
    await deliverAll([teacher]);
    await settled(teacher.employeeId, 1);
    const studentId = `P${runId}${++seq}`;
    const csv = tmpFile(
      'education.csv',
      [
        'student_id;hr_employee_id;first_names;last_name;school_code;class;start_date',
        `${studentId};;Oona;Oppilas${nameTag};${school};3A;${today()}`,
        `;${teacher.employeeId};Aino;Suunnitelma${nameTag};${school};;${today()}`,
      ].join('\n'),
    );
    const planFile = path.join(tmp, 'education-plan.json');
    const plan = await planJson('--education', csv, '--save', planFile);
    const byId = new Map(plan.persons.map((p) => [p.employeeId, p]));
    const pupil = byId.get(`S-${studentId}`);
    assert.deepEqual(pupil?.steps, [
      'create AD account (disabled)',
      `add to Class-${school}-3A, Pupils-${school}`,
      'enable account',
    ]);
    assert.deepEqual(pupil?.warnings, [], 'school and class groups are made by the run, not missing');
    assert.deepEqual(byId.get(teacher.employeeId)?.steps, [`add to Teachers-${school}`]);
    assert.equal(await stack.directory.findByEmployeeId(`S-${studentId}`), null, 'nothing written');

    const applied = await tunnus('plan', 'apply', planFile);
    assert.equal(applied.code, 0, applied.out);
    assert.match(applied.out, /2 records delivered/);
    await settled(`S-${studentId}`, 1);
    await settled(teacher.employeeId, 2);
    assert.ok(pupil?.firstDay, 'the plan announces the first-day credential of the pupil');
    assert.deepEqual((await lastResult(`S-${studentId}`)).applied, [...pupil.steps, ...firstDayLines(pupil)]);
    assert.deepEqual((await lastResult(teacher.employeeId)).applied, [`add to Teachers-${school}`]);
    const again = await planJson('--education', csv);
    assert.equal(again.summary.changing, 0, 're-plan is empty');
  });

  it('the cleanup is refused with a clear message', async () => {
    const cleanup = await tunnus('plan', '--cleanup');
    assert.equal(cleanup.code, 2);
    assert.match(cleanup.out, /--cleanup is not yet available/);
  });
});

/** A worker on the stack's task queue with another policy (the rollout of a new policy). */
/** What a run adds to its applied steps on the first day the plan announced (converge's firstDay). */
function firstDayLines(p: { firstDay?: unknown }): string[] {
  return p.firstDay ? ['first-day credential: delivered', 'account-ready notice'] : [];
}

async function startWorkerWith(stack: Stack, policy: Policy): Promise<() => Promise<void>> {
  const connection = await NativeConnection.connect({ address: stack.temporal.address });
  const worker: Worker = await buildWorker({
    connection,
    client: stack.client,
    taskQueue: stack.taskQueue,
    directory: stack.directory,
    cloud: stack.cloud,
    phone: stack.phone,
    policy: parsePolicy(stringifyYaml(policy)),
    baseDn: stack.samba.baseDn,
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= (async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    })());
}
