import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliverRecord, personState, readPerson } from '../../src/ops/persons';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import { personWorkflowId, stateQuery, type PersonState } from '../../src/workflows/messages';
import { eventually, startStack, type Stack } from '../support/stack';

// The whole lifecycle of one person against Samba AD and the Graph and telephony simulators:
// joiner → mover (new role and surname) → leaver → rehire → leaver → deletion after retention.
// Real servers cannot skip time, so dates are chosen so that each record puts the person in the
// next phase at once, and the final deletion is a real durable timer set one or two minutes ahead.

const runId = Date.now().toString(36).toUpperCase();
// The policy's end-of-day time is set a little ahead of now: the last leaver's retention (1 day,
// a summer-job role) then ends today at that minute, and the delete timer fires during the test.
const target = new Date(Date.now() + 120_000);
const today = helsinkiDate(target);
const clock = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Helsinki',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
}).format(target);

function record(id: string, fields: Partial<HrRecord>): HrRecord {
  return {
    employeeId: id,
    firstNames: 'Veera',
    lastName: `Virta${runId}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-120',
    employmentType: 'permanent',
    startDate: addDays(today, -30),
    ...fields,
  };
}

describe('lifecycle against Samba AD and the Graph and telephony simulators', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      policy: (p) => {
        p.lifecycle.lastDayEndsAt = clock;
        p.roles.unshift({
          name: 'summer-worker',
          match: { orgUnitPrefixes: ['TEKN'], employmentTypes: ['fixed_term'] },
          groups: ['Summer-Workers'],
          licences: [{ sku: 'SPE_F1', disabledPlans: [] }],
          mailbox: true,
          cloud: true,
          // Zero days: retention counts from the recorded disable (not the HR end date), and a
          // real server cannot skip a day; the time-skipping tests check whole days exactly.
          retentionDays: 0,
        });
        p.managedGroups.push('Summer-Workers');
      },
    });
    await stack.startWorker();
  });
  after(async () => {
    await stack.close();
  });

  const settled = (id: string, runs: number, timeoutMs = 60_000) =>
    eventually(
      () => personState(stack.client, id),
      (s) => !!s && s.runs.length >= runs && s.runs.every((r) => r.endedAt) && s.stage !== 'failed',
      timeoutMs,
      `person ${id} settled after ${runs} runs`,
    ) as Promise<PersonState>;
  const account = async (id: string) => (await stack.directory.findByEmployeeId(id))!;
  const groupNames = async (id: string) =>
    (await account(id)).memberOf.map((dn) => /^CN=([^,]+)/i.exec(dn)![1]!).sort();
  const cloudUser = (id: string) => stack.sims.graph.state.listUsers().find((u) => u.employeeId === id);
  const skuOf = async (part: string) =>
    (await stack.cloud.listSubscribedSkus()).find((s) => s.skuPartNumber === part)!;
  const licencesOf = async (id: string) => {
    const skus = await stack.cloud.listSubscribedSkus();
    return (cloudUser(id)?.assignedLicenses ?? []).map(
      (l) => skus.find((s) => s.skuId === l.skuId)!.skuPartNumber,
    );
  };
  const catalogued = async (id: string) =>
    (await stack.sims.phone.admin.catalogue()).some((e) => e.employeeId === id);

  it('joiner → mover → leaver → rehire → leaver → deletion after retention', async () => {
    const id = `LC${runId}`;
    const ouOf = async () => (await account(id)).ou.split(',')[0];
    await stack.sims.phone.admin.assignNumbers(id, [{ type: 'work', e164: '+358929490001', primary: true }]);

    // Joiner: a nurse.
    await deliverRecord(stack.client, record(id, {}), 'hr', stack.taskQueue);
    await settled(id, 1);
    const joined = await account(id);
    assert.equal(joined.enabled, true);
    assert.deepEqual(await groupNames(id), ['All-Staff', 'Care-Staff', 'ERP-Nurse']);
    assert.deepEqual(await licencesOf(id), ['SPE_E3']);
    const mailBefore = joined.mail!;

    // Mover: a teacher now, and a new surname. Old role's access goes; names stay; new address.
    const teacher = record(id, {
      jobCode: 'OP01',
      orgUnit: 'KASV-210',
      jobTitle: 'Opettaja',
      lastName: `Koski${runId}`,
    });
    await deliverRecord(stack.client, teacher, 'hr', stack.taskQueue);
    const moved = await settled(id, 2);
    assert.equal(moved.runs[1]!.kind, 'mover');
    const mover = await account(id);
    assert.deepEqual(await groupNames(id), ['All-Staff', 'Teachers'], 'care ERP groups removed');
    assert.equal(await ouOf(), 'OU=Education');
    assert.equal(mover.title, 'Opettaja');
    assert.equal(mover.sn, `Koski${runId}`);
    assert.equal(mover.sAMAccountName, joined.sAMAccountName, 'sAMAccountName stays');
    assert.equal(mover.mail, `veera.koski${runId.toLowerCase()}@kerava.fi`, 'new primary address');
    assert.ok(mover.proxyAddresses.includes(`SMTP:${mover.mail}`));
    assert.ok(mover.proxyAddresses.includes(`smtp:${mailBefore}`), 'old address kept as alias');
    assert.deepEqual(await licencesOf(id), ['M365EDU_A3_FACULTY'], 'licence swapped');
    assert.equal(cloudUser(id)!.surname, `Koski${runId}`, 'cloud user follows the new surname');

    // Leaver: HR enters an end date that has passed. Seats go back to the pool.
    const facultyBefore = await skuOf('M365EDU_A3_FACULTY');
    const sessionsBefore = cloudUser(id)!.signInSessionsValidFromDateTime;
    await deliverRecord(stack.client, { ...teacher, endDate: addDays(today, -3) }, 'hr', stack.taskQueue);
    const left = await settled(id, 3);
    assert.equal(left.runs[2]!.kind, 'leaver');
    assert.equal(left.stage, 'left');
    const leaver = await account(id);
    assert.equal(leaver.enabled, false);
    assert.equal(await ouOf(), 'OU=Disabled');
    assert.deepEqual(await groupNames(id), [], 'no managed group left');
    assert.equal(cloudUser(id)!.accountEnabled, false);
    assert.ok(cloudUser(id)!.signInSessionsValidFromDateTime > sessionsBefore, 'sessions revoked');
    assert.equal(cloudUser(id)!.showInAddressList, false, 'hidden from the address list');
    assert.deepEqual(await licencesOf(id), [], 'licences removed');
    assert.equal(
      (await skuOf('M365EDU_A3_FACULTY')).consumed,
      facultyBefore.consumed - 1,
      'seat back in the pool',
    );
    assert.equal(await catalogued(id), false, 'catalogue entry removed');

    // Rehire within retention: the same account, enabled, with the returning role.
    const back = record(id, { ...teacher, startDate: addDays(today, -1) });
    await deliverRecord(stack.client, back, 'hr', stack.taskQueue);
    const rehired = await settled(id, 4);
    assert.equal(rehired.runs[3]!.kind, 'rehire');
    assert.equal(rehired.stage, 'active');
    const again = await account(id);
    assert.equal(again.dn, mover.dn, 'the same account, back in its role OU');
    assert.equal(again.enabled, true);
    assert.deepEqual(await groupNames(id), ['All-Staff', 'Teachers']);
    assert.deepEqual(await licencesOf(id), ['M365EDU_A3_FACULTY']);
    assert.equal(cloudUser(id)!.accountEnabled, true);
    assert.notEqual(cloudUser(id)!.showInAddressList, false);
    assert.equal(await catalogued(id), true);

    // Leaver again, from a summer job with zero days' retention: the leaver disables, and the
    // delete is a run of its own after it (never the same run), from the recorded disable.
    const summer = record(id, {
      ...back,
      orgUnit: 'TEKN-300',
      jobCode: 'KE01',
      jobTitle: 'Kesätyöntekijä',
      employmentType: 'fixed_term',
      endDate: addDays(today, -1),
    });
    await deliverRecord(stack.client, summer, 'hr', stack.taskQueue);
    // The delete completes the person workflow, and its shred-{id} child destroys the key: from
    // then on the state can no longer be queried (no replay decodes), so the test waits on
    // visibility and the shred's result, and the reader answers "shredded".
    const person = stack.client.workflow.getHandle(personWorkflowId(id));
    await eventually(
      async () => (await person.describe()).status.name,
      (s) => s === 'COMPLETED',
      180_000,
      'person workflow completed after the deletion after retention',
    );
    assert.deepEqual(await stack.client.workflow.getHandle(`shred-${id}`).result(), { outcome: 'shredded' });
    // What a bare query does now (why readers must not rely on it): the replay cannot decode.
    await assert.rejects(
      stack.client.connection.withDeadline(Date.now() + 20_000, () => person.query(stateQuery)),
      'a query on the shredded person fails',
    );
    const reading = await readPerson(stack.client, id);
    assert.equal(reading.kind, 'shredded', 'the reader says shredded, not a failed query');
    assert.equal(await personState(stack.client, id), null, 'and no state: nothing of them is readable');
    const runs: { kind: string; startedAt: number }[] = [];
    for await (const w of stack.client.workflow.list({ query: `EmployeeId = '${id}'` })) {
      const kind = /^(joiner|mover|leaver|rehire|delete)-/.exec(w.workflowId)?.[1];
      if (kind) runs.push({ kind, startedAt: w.startTime.getTime() });
    }
    runs.sort((a, b) => a.startedAt - b.startedAt);
    assert.deepEqual(
      runs.slice(-2).map((r) => r.kind),
      ['leaver', 'delete'],
      'disabled by a leaver run, deleted by a later run',
    );
    assert.ok(runs.at(-1)!.startedAt >= runs.at(-2)!.startedAt);
    assert.equal(await stack.directory.findByEmployeeId(id), null, 'AD account deleted');
    assert.equal(cloudUser(id), undefined, 'cloud user deleted');
    assert.equal(
      stack.sims.graph.state.deleted.size === 0 ||
        ![...stack.sims.graph.state.deleted.values()].some((u) => u.employeeId === id),
      true,
      'and purged from the recycle bin',
    );
    const taken = await stack.directory.takenNames(
      [
        {
          sAMAccountName: mover.sAMAccountName,
          userPrincipalName: mover.userPrincipalName,
          mail: mover.mail,
        },
      ],
      'someone-else',
    );
    assert.ok(taken.has(mover.sAMAccountName), 'the names stay reserved');
  });
});
