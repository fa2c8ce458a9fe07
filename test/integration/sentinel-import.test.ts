import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { generatePassword } from '../../src/activities/directory';
import { startCleanup, waitForCleanup } from '../../src/ops/cleanup';
import { deliverRecord, personState } from '../../src/ops/persons';
import type { CleanupReport } from '../../src/domain/cleanup-report';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import { nextDue } from '../../src/domain/person-state';
import type { HrRecord } from '../../src/domain/record';
import { ensureCleanupSchedule } from '../../src/ops/schedules';
import { run as cli } from '../../src/starter';
import type { PersonState } from '../../src/workflows/messages';
import { hrCsv } from '../support/hr-csv';
import { eventually, startStack, type Stack } from '../support/stack';

// Issue 16, "HR sentinels": `9999-12-31` in an HR snapshot means "no end". Imported through
// `tunnus hr import` (the real import workflow and record index), the person joins and stays
// active with no end date and no leaver timer; the daily cleanup then completes with them in its
// population, does not report them and skips no one. Beside them: a person with a real end date
// (the leaver timer is armed: the test tells the two apart) and an orphan account (the cleanup
// really evaluated the population). The policy has OUs and groups of its own, so accounts other
// test files leave in the shared DC are outside this cleanup's scope.

const runId = Date.now().toString(36).toUpperCase();
const letters = runId.replace(/[0-9]/g, '');
const root = 'OU=SentinelIT';
const today = helsinkiDate(new Date());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-sentinel-it-'));
const indexFile = path.join(dir, 'record-index.sqlite');

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('an HR snapshot with end_date 9999-12-31, then the daily cleanup', () => {
  let stack: Stack;
  const sentinel = `SN${runId}-1`;
  const dated = `SN${runId}-2`;
  /** A record that reached its workflow with the sentinel still in it (past the door). */
  const raw = `SN${runId}-3`;
  const orphan = `SN${runId}-9`;
  const datedEnd = addDays(today, 400);
  const start = addDays(today, -30);
  const nurse = (employeeId: string, endDate: string): HrRecord => ({
    employeeId,
    firstNames: 'Väinö',
    lastName: `Ikuinen${letters}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: start,
    endDate,
  });

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
            groups: ['SIT-ERP-Nurse'],
            licences: [{ sku: 'SPE_E3', disabledPlans: [] }],
            mailbox: true,
            cloud: true,
          },
        ];
        p.cleanup = { mode: 'report', at: '02:00', monthlyPrices: { SPE_E3: 36 } };
      },
    });
    // The CLI (in this process) and the worker's import activities open the index the
    // environment names: this file.
    Object.assign(process.env, stack.childEnv(), { TUNNUS_INDEX_FILE: indexFile });
    delete process.env.RECORD_INDEX_URL;
    await stack.startWorker();
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const state = async (id: string) => (await personState(stack.client, id)) as PersonState;
  const settled = (id: string) =>
    eventually(
      () => state(id),
      (s) =>
        !!s &&
        s.runs.length > 0 &&
        s.runs.every((r) => r.endedAt) &&
        s.version === s.handledVersion &&
        !['received', 'joining', 'updating'].includes(s.stage),
      90_000,
      `person ${id} settled`,
    );
  const cloudUser = (id: string) => {
    const users = stack.sims.graph.state.listUsers().filter((u) => u.employeeId === id);
    assert.equal(users.length, 1, `${id}: one cloud user`);
    return users[0]!;
  };
  /** The person workflow's current details (what the Web UI shows it waits for). */
  const currentDetails = async (id: string) => {
    const meta = await stack.client.workflow
      .getHandle(`person-${id}`)
      .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    return meta.currentDetails ?? '';
  };
  const cleanup = async (mode?: 'report'): Promise<{ workflowId: string; report: CleanupReport }> => {
    const workflowId = await startCleanup(stack.client, stack.taskQueue, mode);
    const outcome = await waitForCleanup(stack.client, workflowId);
    assert.ok('report' in outcome, `cleanup ${workflowId} finished without waiting for approval`);
    return { workflowId, report: outcome.report };
  };
  const about = (report: CleanupReport, id: string) =>
    report.findings.filter((f) => 'employeeId' in f && f.employeeId === id);

  it('tunnus hr import: the 9999-12-31 row has no end, no leaver timer, stays active and enabled', async () => {
    const file = path.join(dir, 'hr.csv');
    fs.writeFileSync(file, hrCsv([nurse(sentinel, '9999-12-31'), nurse(dated, datedEnd)]));
    const out = new Capture();
    const code = await cli(['hr', 'import', file], out);
    assert.equal(code, 0, out.text);
    assert.match(out.text, /delivered {3}2\b/, out.text);
    assert.match(out.text, /2\/2 rows: 2 delivered, 0 unchanged, 0 failed/, out.text);

    const s = await settled(sentinel);
    const why = JSON.stringify({ stage: s.stage, phase: s.phase, schedule: s.schedule, error: s.lastError });
    assert.equal(s.stage, 'active', why);
    assert.equal(s.phase, 'active', why);
    assert.equal(s.record?.endDate, undefined, 'the sentinel means no end: the record has no endDate');
    assert.equal(s.records?.hr?.endDate, undefined);
    assert.equal(s.schedule?.endAt, undefined, `no last working day: ${why}`);
    assert.equal(s.schedule?.deleteAt, undefined, why);
    assert.equal(nextDue(s), undefined, 'no leaver timer (nothing is due)');
    assert.equal(s.retry, undefined);
    assert.equal(s.lastError, undefined);
    assert.deepEqual(
      s.runs.map((r) => [r.kind, r.outcome]),
      [['joiner', 'completed']],
    );
    assert.equal(await currentDetails(sentinel), 'active: waiting for HR records');
    const account = (await stack.directory.findByEmployeeId(sentinel))!;
    assert.equal(account.enabled, true);
    assert.ok(
      account.memberOf.some((g) => /^CN=SIT-ERP-Nurse,/.test(g)),
      JSON.stringify(account.memberOf),
    );
    assert.equal(cloudUser(sentinel).accountEnabled, true);
    assert.equal(cloudUser(sentinel).assignedLicenses.length, 1);

    // The row beside it with a real end date: the leaver timer is armed for its last day.
    const d = await settled(dated);
    assert.equal(d.stage, 'active');
    assert.equal(d.record?.endDate, datedEnd);
    assert.equal(d.schedule?.endAt?.slice(0, 10), datedEnd);
    assert.equal(nextDue(d)?.kind, 'leaver', JSON.stringify(d.schedule));
    // What the person waits for next: the leaver, or the manager's reminder before it.
    assert.match(await currentDetails(dated), new RegExp(`last working day (to end \\()?${datedEnd}`));
  });

  it('a record holding 9999-12-31 past the door (e.g. carried from before) is no end either', async () => {
    const record = nurse(raw, '9999-12-31');
    await deliverRecord(stack.client, record, 'hr', stack.taskQueue); // straight to the workflow
    const s = await settled(raw);
    const why = JSON.stringify({ stage: s.stage, schedule: s.schedule, error: s.lastError, runs: s.runs });
    assert.equal(s.stage, 'active', why);
    assert.equal(s.schedule?.endAt, undefined, why);
    assert.equal(nextDue(s), undefined, why);
    assert.equal((await stack.directory.findByEmployeeId(raw))!.enabled, true);
  });

  it('the daily cleanup completes with them in its population, reports none of them and skips no one', async () => {
    // An orphan: enabled, in a managed OU, no identity behind its employeeID — the one finding.
    const ou = `OU=Care,OU=Staff,${root},${stack.samba.baseDn}`;
    const planted = await stack.directory.createAccount({
      employeeId: orphan,
      ou,
      cn: `orphan.${runId.toLowerCase()}`,
      sAMAccountName: `sorph${runId.toLowerCase()}`.slice(0, 20),
      userPrincipalName: `sorphan.${runId.toLowerCase()}@kerava.test`,
      attributes: { givenName: 'O', sn: 'Orpo', displayName: 'O Orpo', title: 'x', department: 'x' },
      password: generatePassword(),
    });
    await stack.directory.setEnabled(planted.dn, true);

    const { report } = await cleanup('report');
    const why = JSON.stringify({ findings: report.findings, skipped: report.skipped });
    assert.equal(report.mode, 'report');
    assert.deepEqual(report.skipped ?? [], [], `no one skipped: ${why}`);
    // Managed identities (src/domain/managed-identity.ts): the three people; an orphan account is none.
    assert.equal(report.managedIdentities, 3, `the population: three people: ${why}`);
    for (const id of [sentinel, dated, raw])
      assert.deepEqual(about(report, id), [], `${id} not reported: ${why}`);
    assert.deepEqual(
      report.findings.map((f) => [f.kind, 'employeeId' in f ? f.employeeId : undefined]),
      [['orphanAccount', orphan]],
      `the orphan is the only finding: ${why}`,
    );
    assert.equal(report.counts.pastRetention, 0);
    assert.equal(report.counts.licenceOnLeaver, 0);
    // Report mode changed nothing.
    assert.equal((await stack.directory.findByEmployeeId(orphan))!.enabled, true);
    assert.equal((await stack.directory.findByEmployeeId(sentinel))!.enabled, true);
    assert.equal((await state(sentinel)).stage, 'active');

    // The scheduled path (overlap policy SKIP): one triggered run after another completes, so no
    // run is left blocking the next day's.
    await ensureCleanupSchedule(stack.client, stack.policy, stack.taskQueue);
    // Scheduled runs are named by the second they start in: the second trigger a second later.
    const first = await cleanup();
    await new Promise((r) => setTimeout(r, 1_100));
    const second = await cleanup();
    assert.notEqual(first.workflowId, second.workflowId);
    for (const r of [first.report, second.report]) {
      assert.equal(r.mode, 'report');
      assert.deepEqual(r.skipped ?? [], []);
      assert.equal(about(r, sentinel).length, 0);
      assert.equal(r.findings.length, 1);
    }
    const described = await stack.client.workflow.getHandle(second.workflowId).describe();
    assert.equal(described.status.name, 'COMPLETED');
  });
});
