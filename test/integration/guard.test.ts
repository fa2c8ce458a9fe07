import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { sha256Hex } from '../../src/api/auth';
import { createTemporalImports } from '../../src/ops/imports';
import { createTemporalIntake } from '../../src/ops/temporal-intake';
import { buildApi, type ApiServer } from '../../src/api/server';
import { startCleanup, waitForCleanup } from '../../src/ops/cleanup';
import { personState } from '../../src/ops/persons';
import type { CleanupReport } from '../../src/domain/cleanup-report';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import { createTemporalApprovals, pendingApproval } from '../../src/ops/approve';
import { parseEnv } from '../../src/config';
import { openRecordIndex } from '../../src/store/open';
import type { RecordStore } from '../../src/store/import-staging';
import { run as cli } from '../../src/starter';
import { HOLD_WORKFLOW_ID } from '../../src/workflows/mass-change-hold';
import { importProgressQuery, type ImportProgress } from '../../src/workflows/import';
import { hrCsv } from '../support/hr-csv';
import { eventually, startStack, type Stack } from '../support/stack';

// The mass-change guard end to end: the real HTTP intake, the real import and the real cleanup,
// on the Temporal dev server with the worker and Samba AD, over one record store. Ten nurses are
// active; 15 % (and 15 % for the GIT-ERP-* groups) is the threshold, over a 24 h window shared by
// every path: the second end through the API is held, an import taking ERP access from three
// more stops, and the cleanup's removal of hand-added ERP members stops too — each until an
// operator, named by their token or OS user, approves exactly the set that waits.

const runId = Date.now().toString(36).toUpperCase();
const today = helsinkiDate(new Date());
const root = 'OU=GuardIT';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-guard-it-'));
const indexFile = path.join(dir, 'record-index.sqlite');
const tokens = { hr: 'tun_guard_hr_0123456789abcdef0123', ops: 'tun_guard_ops_0123456789abcdef012' };

const nurse = (i: number, extra: Partial<HrRecord> = {}): HrRecord => ({
  employeeId: `GD${runId}${i}`.slice(0, 16),
  firstNames: 'Ilona',
  lastName: `Vartija${runId}${String.fromCharCode(97 + i)}`,
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-120',
  employmentType: 'permanent',
  startDate: addDays(today, -100),
  ...extra,
});

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('the mass-change guard through the API, the import and the cleanup', () => {
  let stack: Stack;
  let store: RecordStore;
  let app: ApiServer;
  const nurses = Array.from({ length: 10 }, (_, i) => nurse(i));
  const state = (r: HrRecord) => personState(stack.client, r.employeeId);
  const put = (r: HrRecord) =>
    app.inject({
      method: 'PUT',
      url: `/api/v1/persons/${r.employeeId}`,
      headers: { authorization: `Bearer ${tokens.hr}` },
      payload: r,
    });
  const tunnus = async (...argv: string[]) => {
    const out = new Capture();
    const code = await cli(argv, out);
    return { code, out: out.text };
  };

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
            ou: `OU=Care,${root}`,
            groups: ['GIT-ERP-Nurse'],
            licences: [],
          },
          { name: 'staff', groups: ['GIT-Staff'], licences: [] },
        ] as typeof p.roles;
        p.telephony.enabled = false;
        p.safety = {
          massChangeThresholdPercent: 15,
          windowHours: 24,
          groupThresholds: [{ groups: 'GIT-ERP-*', thresholdPercent: 15 }],
        };
      },
    });
    // The API (here), the CLI (here) and the worker's activities share this record store.
    Object.assign(process.env, stack.childEnv(), { TUNNUS_INDEX_FILE: indexFile });
    delete process.env.RECORD_INDEX_URL;
    await stack.startWorker();
    // The worker's store as production opens it (sealed, keyed fingerprints), on the same keys.
    store = openRecordIndex(parseEnv());
    app = buildApi({
      intake: createTemporalIntake({ client: stack.client, taskQueue: stack.taskQueue }),
      index: store,
      policy: stack.policy,
      imports: createTemporalImports({ client: stack.client, staging: store, taskQueue: stack.taskQueue }),
      approvals: createTemporalApprovals(stack.client),
      clients: [
        { name: 'hr-system', tokenSha256: sha256Hex(tokens.hr), scopes: ['hr:write'] },
        { name: 'ops-console', tokenSha256: sha256Hex(tokens.ops), scopes: ['ops:read', 'ops:approve'] },
      ],
      logger: pino({ level: 'silent' }),
    });
    await app.ready();
    for (const r of nurses) assert.equal((await put(r)).json<{ status: string }>().status, 'accepted');
    for (const r of nurses) {
      await eventually(
        () => state(r),
        (s) => s?.stage === 'active',
        120_000,
        `${r.employeeId} active`,
      );
    }
    assert.equal(await store.countActive(today), 10);
  });
  after(async () => {
    await app?.close();
    await store?.close();
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('PUT one by one: the first end passes, the second is held; ops approve it by token, then it runs', async () => {
    const first = await put({ ...nurses[0]!, endDate: today });
    assert.equal(first.json<{ status: string }>().status, 'accepted');
    const second = await put({ ...nurses[1]!, endDate: today });
    const body = second.json<{ status: string; workflowId: string; reason: string }>();
    assert.equal(body.status, 'held');
    assert.equal(body.workflowId, HOLD_WORKFLOW_ID);
    assert.match(body.reason, /access from 2 of 10 active identities/);

    const view = await app.inject({
      method: 'GET',
      url: '/api/v1/mass-change',
      headers: { authorization: `Bearer ${tokens.ops}` },
    });
    assert.deepEqual(
      view.json<{ held: { identityId: string; kind: string }[] }>().held.map((h) => [h.identityId, h.kind]),
      [[nurses[1]!.employeeId, 'disable']],
    );
    assert.equal((await state(nurses[1]!))?.record?.endDate, undefined, 'nothing reached the person');

    const pending = await eventually(
      () => pendingApproval(stack.client, HOLD_WORKFLOW_ID).catch(() => null),
      (p) => p !== null,
      30_000,
      'the held set waits',
    );
    const approve = (setHash: string) =>
      app.inject({
        method: 'POST',
        url: `/api/v1/approvals/${HOLD_WORKFLOW_ID}`,
        headers: { authorization: `Bearer ${tokens.ops}` },
        payload: { setHash },
      });
    assert.equal((await approve('0-0000000000000000')).statusCode, 409, 'another set is refused');
    const approved = await approve(pending!.verdict.setHash);
    assert.equal(approved.statusCode, 200, approved.body);
    assert.equal(approved.json<{ approvedBy: string }>().approvedBy, 'api:ops-console');
    await eventually(
      () => state(nurses[1]!),
      (s) => s?.record?.endDate === today,
      30_000,
      'the held end delivered',
    );
  });

  it('the real import: job codes changed so three lose GIT-ERP-Nurse stops; tunnus approve names the OS user', async () => {
    // The snapshot as HR now sends it: the two ended as delivered, three moved off the nurse code.
    const rows = nurses.map((r, i) =>
      i < 2 ? { ...r, endDate: today } : i >= 2 && i < 5 ? { ...r, jobCode: 'SH99' } : r,
    );
    const file = path.join(dir, 'snapshot.csv');
    fs.writeFileSync(file, hrCsv(rows, { eol: '\n' }));
    const started = await tunnus('hr', 'import', file, '--detach');
    assert.equal(started.code, 0, started.out);
    const importId = /(import-hr-[0-9a-f]{16})/.exec(started.out)?.[1];
    assert.ok(importId, started.out);
    const handle = stack.client.workflow.getHandle(importId);
    const waiting = await eventually(
      () => handle.query(importProgressQuery).catch(() => undefined),
      (p): p is ImportProgress => p?.phase === 'awaiting approval',
      60_000,
      'the import waits for approval',
    );
    assert.equal(waiting!.guard?.roleChanges, 3, JSON.stringify(waiting!.guard));
    assert.equal(waiting!.guard?.managedIdentities, 10);
    assert.equal(waiting!.delivered, 0);
    assert.equal((await state(nurses[2]!))?.record?.jobCode, 'SH01', 'nothing reached the people yet');

    const approved = await tunnus('approve', importId);
    assert.equal(approved.code, 0, approved.out);
    const result = (await handle.result()) as ImportProgress;
    assert.equal(result.approval?.approvedBy, `cli:${os.userInfo().username}`);
    assert.equal(result.delivered, 3);
    await eventually(
      () => state(nurses[2]!),
      (s) => s?.record?.jobCode === 'SH99',
      30_000,
      'moved',
    );
  });

  it('the cleanup: removing hand-added GIT-ERP-Nurse members stops; a finding fixed meanwhile is left alone', async () => {
    // Nurses 2-4 lost GIT-ERP-Nurse with their new job code; someone adds them back by hand.
    const group = (await stack.directory.findGroup('GIT-ERP-Nurse'))!;
    for (const r of nurses.slice(2, 5)) {
      await eventually(
        async () => (await state(r))?.runs.some((run) => !run.endedAt) ?? true,
        (running) => !running,
        60_000,
        `${r.employeeId} settled`,
      );
      const account = (await stack.directory.findByEmployeeId(r.employeeId))!;
      await stack.directory.addToGroup(group, account.dn);
    }
    const workflowId = await startCleanup(stack.client, stack.taskQueue, 'enforce');
    const outcome = await waitForCleanup(stack.client, workflowId);
    assert.ok('waiting' in outcome, 'the cleanup waits for approval');
    assert.match(outcome.waiting, /3 role changes; GIT-ERP-\* /);

    // HR puts nurse 2 back on the nurse code before ops approve: that finding no longer holds.
    assert.equal((await put(nurses[2]!)).json<{ status: string }>().status, 'accepted');
    await eventually(
      () => state(nurses[2]!),
      (s) => s?.record?.jobCode === 'SH01',
      30_000,
      'back',
    );

    const approved = await tunnus('approve', workflowId);
    assert.equal(approved.code, 0, approved.out);
    const report = (await stack.client.workflow.getHandle(workflowId).result()) as CleanupReport;
    assert.equal(report.approvedBy, `cli:${os.userInfo().username}`);
    assert.equal(report.done.ungrantedMember, 2);
    assert.equal(report.stale?.ungrantedMember, 1);
    const members = (await stack.directory.listMembers(group)).map((m) => m.employeeId);
    assert.ok(members.includes(nurses[2]!.employeeId), 'the re-checked nurse keeps the group');
    assert.ok(!members.includes(nurses[3]!.employeeId));
  });
});
