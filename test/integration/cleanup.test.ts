import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generatePassword } from '../../src/activities/directory';
import { lastCleanupReport, startCleanup, waitForCleanup } from '../../src/ops/cleanup';
import { deliverRecord, personState } from '../../src/ops/persons';
import type { CleanupReport } from '../../src/domain/cleanup-report';
import { addDays, helsinkiDate, zonedInstant } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import { CLEANUP_SCHEDULE, ensureCleanupSchedule } from '../../src/ops/schedules';
import { personWorkflowId, type PersonState } from '../../src/workflows/messages';
import { personWorkflow } from '../../src/workflows/person';
import { eventually, startStack, type Stack } from '../support/stack';
import { openFindings, SHREDDED } from '../../src/activities/cleanup-seal';
import { createPayloadCodec } from '../../src/crypto/codec';
import { isSealed } from '../../src/crypto/seal';
import { decodeHistory, historyPayloads, payloadJson } from '../support/history-payloads';

// The leaver cleanup against a planted mess in Samba AD and the Graph simulator: an orphan
// account, a licence left on a disabled account, a hand-added member of a managed group and a
// leaver past retention. Report mode only reports; enforce fixes each; a second run finds nothing.
// The policy here uses OUs and groups of its own, so accounts other test files leave in the
// shared DC are outside this cleanup's scope.

const runId = Date.now().toString(36).toUpperCase();
const root = 'OU=CleanupIT';
const today = helsinkiDate(new Date());

function nurse(employeeId: string, lastName: string, extra: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId,
    firstNames: 'Siiri',
    lastName: `${lastName}${runId}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-130',
    employmentType: 'permanent',
    startDate: addDays(today, -100),
    ...extra,
  };
}

describe('leaver cleanup against a planted mess', () => {
  let stack: Stack;
  const care = () => `OU=Care,OU=Staff,${root},${stack.samba.baseDn}`;
  const disabled = () => `OU=Disabled,${root},${stack.samba.baseDn}`;

  before(async () => {
    stack = await startStack({
      policy: (p) => {
        p.ous = {
          default: `OU=Staff,${root}`,
          disabled: `OU=Disabled,${root}`,
          retiredNames: `OU=Retired,${root}`,
        };
        p.managedGroups = [];
        // The sample's per-role credential entries name roles this file replaces.
        p.credentials.roles = {};
        p.roles = [
          {
            name: 'nurse',
            match: { jobCodes: ['SH01'], orgUnitPrefixes: ['SOTE'] },
            ou: `OU=Care,OU=Staff,${root}`,
            groups: ['CIT-ERP-Nurse'],
            licences: [{ sku: 'SPE_E3', disabledPlans: [] }],
            cloud: true,
          },
          { name: 'physician', match: { jobCodes: ['LK01'] }, groups: ['CIT-ERP-Physician'], licences: [] },
        ];
        p.cleanup = { mode: 'enforce', at: '02:00', monthlyPrices: { SPE_E3: 36.1 } };
        // The guard has its own test (test/integration/guard.test.ts); here it is off: these
        // identities are delivered straight to their workflows, so the record index does not count
        // them as active.
        p.safety.massChangeThresholdPercent = 100;
      },
    });
    await stack.startWorker();
  });
  after(async () => {
    await stack.close();
  });

  let lastRun = '';
  const run = async (mode?: 'report' | 'enforce'): Promise<CleanupReport> => {
    const workflowId = (lastRun = await startCleanup(stack.client, stack.taskQueue, mode));
    const outcome = await waitForCleanup(stack.client, workflowId);
    assert.ok('report' in outcome, `cleanup ${workflowId} finished without waiting for approval`);
    return outcome.report;
  };
  const groupDn = async (name: string) => (await stack.directory.findGroup(name))!;

  it('finds each planted problem, reports it in report mode, fixes it in enforce mode, then finds nothing', async () => {
    // An active nurse, hand-added to the physicians' ERP group.
    const active = `CA${runId}`;
    await deliverRecord(stack.client, nurse(active, 'Aktiivinen'), 'hr', stack.taskQueue);
    await eventually(
      () => personState(stack.client, active),
      (s) => s?.stage === 'active',
      60_000,
      'active nurse',
    );
    const nurseAccount = (await stack.directory.findByEmployeeId(active))!;
    await stack.directory.addToGroup(await groupDn('CIT-ERP-Physician'), nurseAccount.dn);

    // An orphan: enabled, in a managed OU, no identity behind its employeeID.
    const orphanId = `CO${runId}`;
    const orphan = await stack.directory.createAccount({
      employeeId: orphanId,
      ou: care(),
      cn: `orphan.${runId.toLowerCase()}`,
      sAMAccountName: `orph${runId.toLowerCase()}`.slice(0, 20),
      userPrincipalName: `orphan.${runId.toLowerCase()}@kerava.test`,
      attributes: { givenName: 'O', sn: 'Orpo', displayName: 'O Orpo', title: 'x', department: 'x' },
      password: generatePassword(),
    });
    await stack.directory.setEnabled(orphan.dn, true);

    // A departed person (no identity) whose disabled account's cloud user still holds a seat.
    const departed = `CD${runId}`;
    await stack.directory.createAccount({
      employeeId: departed,
      ou: disabled(),
      cn: `departed.${runId.toLowerCase()}`,
      sAMAccountName: `dep${runId.toLowerCase()}`.slice(0, 20),
      userPrincipalName: `departed.${runId.toLowerCase()}@kerava.test`,
      attributes: { givenName: 'D', sn: 'Poissa', displayName: 'D Poissa', title: 'x', department: 'x' },
      password: generatePassword(),
    });
    const cloudUser = await stack.cloud.createUser({
      employeeId: departed,
      userPrincipalName: `departed.${runId.toLowerCase()}@kerava.test`,
      mailNickname: `departed${runId.toLowerCase()}`,
      displayName: 'D Poissa',
      usageLocation: 'FI',
      accountEnabled: false,
      password: generatePassword(),
    });
    const e3 = (await stack.cloud.listSubscribedSkus()).find((s) => s.skuPartNumber === 'SPE_E3')!;
    await eventually(
      () =>
        stack.cloud.assignLicenses(cloudUser.id, [{ skuId: e3.skuId, disabledPlans: [] }], []).then(
          () => true,
          () => false,
        ),
      (ok) => ok,
      10_000,
      'licence on the departed user',
    );

    // A leaver past retention whose delete run failed: the person workflow retries it later.
    const leaver = `CL${runId}`;
    const endDate = addDays(today, -200);
    const record = nurse(leaver, 'Lähtenyt', { endDate });
    const old = await stack.directory.createAccount({
      employeeId: leaver,
      ou: disabled(),
      cn: `leaver.${runId.toLowerCase()}`,
      sAMAccountName: `lvr${runId.toLowerCase()}`.slice(0, 20),
      userPrincipalName: `leaver.${runId.toLowerCase()}@kerava.test`,
      mail: `leaver.${runId.toLowerCase()}@kerava.fi`,
      attributes: { givenName: 'L', sn: 'Lähtenyt', displayName: 'L L', title: 'x', department: 'x' },
      password: generatePassword(),
    });
    const deleteAt = zonedInstant(addDays(endDate, 90), '24:00').toISOString();
    const state: PersonState = {
      employeeId: leaver,
      stage: 'failed',
      record,
      version: 1,
      recordsReceived: 1,
      duplicatesIgnored: 0,
      account: {
        employeeId: leaver,
        sAMAccountName: old.sAMAccountName,
        userPrincipalName: old.userPrincipalName,
        created: true,
      },
      phase: 'left',
      schedule: {
        provisionAt: zonedInstant(record.startDate, '00:00').toISOString(),
        startAt: zonedInstant(record.startDate, '00:00').toISOString(),
        endAt: zonedInstant(endDate, '24:00').toISOString(),
        deleteAt,
      },
      // Retention counts from the recorded disable; the failed delete is retried with backoff
      // (next attempt hours away, so it does not run during this test).
      disabledAt: zonedInstant(addDays(endDate, 1), '00:00').toISOString(),
      retry: {
        kind: 'delete',
        attempt: 9,
        at: new Date(Date.now() + 6 * 60 * 60 * 1000).toISOString(),
        reason: 'CloudPermission',
      },
      runs: [],
      timeline: [],
      runSeq: 3,
    };
    await stack.client.workflow.start(personWorkflow, {
      workflowId: personWorkflowId(leaver),
      taskQueue: stack.taskQueue,
      args: [{ employeeId: leaver, state }],
    });

    // Report mode: every problem found, nothing changed.
    const reported = await run('report');
    assert.equal(reported.mode, 'report');
    assert.equal(reported.counts.pastRetention, 1);
    assert.equal(reported.counts.licenceOnLeaver, 1);
    assert.equal(reported.counts.orphanAccount, 1);
    assert.equal(reported.counts.ungrantedMember, 1);
    assert.deepEqual(reported.licences, { SPE_E3: 1 });
    assert.equal(reported.monthlySaving, 36.1);
    assert.ok(reported.findings.some((f) => f.kind === 'orphanAccount' && f.employeeId === orphanId));
    assert.ok(reported.findings.some((f) => f.kind === 'ungrantedMember' && f.employeeId === active));
    assert.equal(
      (await stack.directory.findByEmployeeId(orphanId))!.enabled,
      true,
      'report mode changed nothing',
    );

    // The collected report in the history, decoded with the codec (what the shared key opens):
    // account names and DNs are sealed per person, none in plain text; ops see them opened.
    const history = await decodeHistory(
      await stack.client.workflow.getHandle(lastRun).fetchHistory(),
      createPayloadCodec(stack.keys),
    );
    const results = historyPayloads(history, lastRun)
      .payloads.filter((p) => p.where.startsWith('activityTaskCompletedEventAttributes.result'))
      .map((p) => payloadJson(p.payload) as { findings?: { account?: string; dn?: string }[] } | undefined);
    const collectedFindings = results.find((r) => r?.findings)?.findings;
    assert.ok(collectedFindings && collectedFindings.length >= 4, 'the collected report is in the history');
    const plain = [
      orphan.sAMAccountName,
      orphan.dn,
      nurseAccount.sAMAccountName,
      nurseAccount.dn,
      old.sAMAccountName,
    ];
    const collectedText = JSON.stringify(collectedFindings);
    for (const v of plain)
      assert.ok(!collectedText.includes(v), `${v} in plain text in the collected report`);
    for (const f of collectedFindings) {
      for (const v of [f.account, f.dn]) if (v !== undefined) assert.ok(isSealed(v), `${v} not sealed`);
    }
    const opened = await openFindings(stack.keys, reported.findings);
    assert.ok(
      opened.some((f) => f.kind === 'orphanAccount' && f.dn === orphan.dn),
      'ops read the orphan DN',
    );
    assert.ok(opened.some((f) => f.kind === 'pastRetention' && f.account === old.sAMAccountName));
    assert.ok(await stack.directory.findByEmployeeId(leaver));
    assert.equal(stack.sims.graph.state.users.get(cloudUser.id)!.assignedLicenses.length, 1);

    // Enforce mode: each handled.
    const consumedBefore = (await stack.cloud.listSubscribedSkus()).find(
      (s) => s.skuId === e3.skuId,
    )!.consumed;
    const enforced = await run('enforce');
    assert.deepEqual(
      [
        enforced.done.pastRetention,
        enforced.done.licenceOnLeaver,
        enforced.done.orphanAccount,
        enforced.done.ungrantedMember,
      ],
      [1, 1, 1, 1],
    );
    assert.deepEqual(enforced.licences, { SPE_E3: 1 }, 'licences reclaimed per SKU');
    assert.equal(enforced.monthlySaving, 36.1);
    assert.equal(await stack.directory.findByEmployeeId(leaver), null, 'leaver past retention deleted');
    assert.equal((await stack.directory.findByEmployeeId(orphanId))!.enabled, false, 'orphan disabled');
    assert.equal(stack.sims.graph.state.users.get(cloudUser.id)!.assignedLicenses.length, 0);
    assert.equal(
      (await stack.cloud.listSubscribedSkus()).find((s) => s.skuId === e3.skuId)!.consumed,
      consumedBefore - 1,
      'seat back in the pool',
    );
    const groups = (await stack.directory.findByEmployeeId(active))!.memberOf.map(
      (dn) => /^CN=([^,]+)/.exec(dn)![1],
    );
    assert.deepEqual(groups, ['CIT-ERP-Nurse'], 'hand-added group removed, granted one kept');

    // The scheduled path: the schedule exists (daily, Helsinki time) and a triggered run finds nothing.
    await ensureCleanupSchedule(stack.client, stack.policy, stack.taskQueue);
    const described = await stack.client.schedule.getHandle(CLEANUP_SCHEDULE).describe();
    assert.equal(described.spec.timezone, 'Europe/Helsinki');
    const calendar = described.spec.calendars?.[0];
    assert.deepEqual(calendar?.hour, [{ start: 2, end: 2, step: 1 }], 'daily at 02');
    assert.deepEqual(calendar?.minute, [{ start: 0, end: 0, step: 1 }], 'at 02:00');
    const again = await run();
    assert.equal(again.findings.length, 0, `second run finds nothing: ${JSON.stringify(again.findings)}`);
    // Visibility is eventually consistent: the run just closed may not be listed yet.
    const last = await eventually(
      () => lastCleanupReport(stack.client, stack.taskQueue),
      (r) => r?.runAt === again.runAt,
      15_000,
      'the latest run listed',
    );
    assert.equal(last?.runAt, again.runAt, 'tunnus cleanup report shows the latest run');

    // Once the leaver is shredded, their line of the stored report no longer opens.
    await stack.keys.destroy(leaver);
    const afterShred = await openFindings(stack.keys, reported.findings);
    const gone = afterShred.find((f) => f.kind === 'pastRetention');
    assert.equal(gone && 'account' in gone ? gone.account : undefined, SHREDDED);
    assert.ok(
      afterShred.some((f) => f.kind === 'orphanAccount' && f.dn === orphan.dn),
      'others still open',
    );
  });
});
