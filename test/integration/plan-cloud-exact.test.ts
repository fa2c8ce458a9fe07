import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deliverRecord, personState } from '../../src/ops/persons';
import type { CloudUser } from '../../src/connectors/graph/cloud-directory';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import type { PersonPlan } from '../../src/simulate/model';
import { run as cli } from '../../src/starter';
import type { PersonState } from '../../src/workflows/messages';
import { lastRunResult } from '../support/run-result';
import { eventually, startStack, type Stack } from '../support/stack';

// Issue 11, item 4: a plan's cloud-user and licence rows are what the run then applies, because
// both call the same decisions (src/domain/cloud-user.ts, licences.ts). Samba AD, the Graph and
// telephony simulators and the dev server; the cloud users drift by hand between runs in fields
// the old plan never looked at (jobTitle, department), and in usageLocation and licences.

const runId = Date.now().toString(36).toUpperCase();
const nameTag = `${runId}x`;
let seq = 0;
const nextId = (prefix: string) => `${prefix}${runId}-${++seq}`;
const today = () => helsinkiDate(new Date());
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-plan-exact-'));

/** The fields ensureCloudUser may write on an existing user. */
const FIELDS = [
  'accountEnabled',
  'showInAddressList',
  'usageLocation',
  'displayName',
  'givenName',
  'surname',
  'jobTitle',
  'department',
] as const;
const fieldsOf = (u: CloudUser) => Object.fromEntries(FIELDS.map((k) => [k, u[k]]));

function nurse(employeeId: string, suffix: string): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `Tarkka${nameTag}${suffix}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: today(),
  };
}

describe("tunnus plan's cloud-user and licence rows equal what the run applies", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
    await stack.startWorker();
    Object.assign(process.env, stack.childEnv());
  });
  after(async () => {
    await stack.close();
  });

  async function planRecord(record: HrRecord): Promise<PersonPlan> {
    const file = path.join(tmp, `${record.employeeId}.json`);
    fs.writeFileSync(file, JSON.stringify(record));
    const chunks: string[] = [];
    const code = await cli(['plan', '--record', file, '--json'], {
      write: (s: string) => chunks.push(s),
    } as unknown as NodeJS.WritableStream);
    assert.equal(code, 0, chunks.join(''));
    const persons = (JSON.parse(chunks.join('')) as { persons: PersonPlan[] }).persons;
    assert.equal(persons.length, 1);
    return persons[0]!;
  }
  const settled = (id: string, runs: number) =>
    eventually(
      () => personState(stack.client, id),
      (s): s is PersonState => !!s && s.runs.length === runs && s.runs.every((r) => r.endedAt),
      180_000,
      `person ${id} settled after ${runs} runs`,
    ) as Promise<PersonState>;
  const lastResult = (id: string) => lastRunResult(stack.client, id);
  const cloudUser = async (id: string) => (await stack.cloud.findUserByEmployeeId(id))!;
  const skuId = async (part: string) =>
    (await stack.cloud.listSubscribedSkus()).find((s) => s.skuPartNumber === part)!.skuId;

  it('drift in jobTitle, department, usageLocation and licences: the plan lists every field and licence the run then writes', async () => {
    const a = nurse(nextId('X'), 'a'); // drifts in jobTitle, department, usageLocation; licence taken away
    const b = nurse(nextId('X'), 'b'); // drifts in jobTitle only: the old plan saw no cloud change
    const c = { ...nurse(nextId('X'), 'c'), startDate: addDays(today(), -10) }; // leaves: licences go back
    for (const r of [a, b, c]) await deliverRecord(stack.client, r, 'hr', stack.taskQueue);
    for (const r of [a, b, c]) await settled(r.employeeId, 1);

    // By hand, in the tenant: fields the run owns, changed behind its back.
    const e3 = await skuId('SPE_E3');
    const ua = await cloudUser(a.employeeId);
    await stack.cloud.updateUser(ua.id, { jobTitle: 'Käsin', department: 'KÄSI-1', usageLocation: 'SE' });
    await stack.cloud.assignLicenses(ua.id, [], [e3]);
    const ub = await cloudUser(b.employeeId);
    await stack.cloud.updateUser(ub.id, { jobTitle: 'Käsin' });

    // HR moves a and b within care (department changes in AD too); c leaves yesterday.
    const a2 = { ...a, orgUnit: 'SOTE-111' };
    const b2 = { ...b, orgUnit: 'SOTE-112' };
    const c2 = { ...c, endDate: addDays(today(), -1) };
    const plans = new Map<string, PersonPlan>();
    const before = new Map<string, Record<string, unknown>>();
    for (const r of [a2, b2, c2]) {
      plans.set(r.employeeId, await planRecord(r));
      before.set(r.employeeId, fieldsOf(await cloudUser(r.employeeId)));
    }
    const adTitle = (await stack.directory.findByEmployeeId(a.employeeId))!.title;

    const pa = plans.get(a.employeeId)!;
    assert.equal(pa.cloudUser, 'update');
    assert.deepEqual(pa.cloudChange, { usageLocation: 'FI', jobTitle: adTitle, department: 'SOTE-111' });
    assert.deepEqual(pa.licences, {
      add: ['SPE_E3'],
      remove: [],
      replace: [],
      shortOfSeats: [],
      unknown: [],
    });
    const pb = plans.get(b.employeeId)!;
    // The old plan decided from usageLocation and sign-in state alone and reported nothing here.
    assert.equal(pb.cloudUser, 'update');
    assert.deepEqual(pb.cloudChange, { jobTitle: adTitle, department: 'SOTE-112' });
    assert.deepEqual(pb.licences?.add, []);
    const pc = plans.get(c.employeeId)!;
    assert.equal(pc.cloudUser, 'retire');
    assert.deepEqual(pc.licences?.remove, ['SPE_E3']);

    for (const r of [a2, b2, c2]) await deliverRecord(stack.client, r, 'hr', stack.taskQueue);
    for (const r of [a2, b2, c2]) {
      await settled(r.employeeId, 2);
      const p = plans.get(r.employeeId)!;
      const result = await lastResult(r.employeeId);
      // A leaver's run also lists its end-of-service steps (sign-in, licences, catalogue).
      const directorySteps =
        r === c2 ? result.applied.filter((step) => p.steps.includes(step)) : result.applied;
      assert.deepEqual(directorySteps, p.steps, `${r.employeeId}: the planned directory steps`);
      if (r === c2) assert.ok(result.applied.includes('hide from address list, return licences'));
      assert.deepEqual(
        [...result.licences].sort(),
        [...(p.licences?.add ?? []), ...(p.licences?.replace ?? [])].sort(),
        `${r.employeeId}: licences assigned are the planned ones`,
      );
      assert.deepEqual(
        [...result.licencesRemoved].sort(),
        [...(p.licences?.remove ?? [])].sort(),
        `${r.employeeId}: licences removed are the planned ones`,
      );
    }
    // The cloud user after the run: exactly the planned fields changed, to the planned values.
    for (const r of [a2, b2]) {
      const p = plans.get(r.employeeId)!;
      const was = before.get(r.employeeId)!;
      const now = fieldsOf(await cloudUser(r.employeeId));
      assert.deepEqual(
        now,
        { ...was, ...p.cloudChange },
        `${r.employeeId}: the run wrote what the plan said`,
      );
    }
    assert.equal((await cloudUser(a.employeeId)).assignedLicenses.length, 1);
    assert.equal((await cloudUser(c.employeeId)).assignedLicenses.length, 0);

    // Planned again on the state the run left: nothing more to do in the cloud.
    for (const r of [a2, b2]) {
      const again = await planRecord(r);
      assert.equal(again.cloudUser, null, `${r.employeeId}: re-plan has no cloud change`);
      assert.equal(again.cloudChange, undefined);
      assert.deepEqual(again.licences?.add, []);
    }
  });
});
