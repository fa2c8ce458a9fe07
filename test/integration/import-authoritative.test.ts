import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { personState } from '../../src/ops/persons';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import { run as cli } from '../../src/starter';
import { importProgressQuery, type ImportProgress } from '../../src/workflows/import';
import { hrCsv } from '../support/hr-csv';
import { eventually, startStack, type Stack } from '../support/stack';

// Authoritative HR snapshots end to end (issue 5): the CLI starts the import on the Temporal dev
// server; the real worker's import activities read person states, end the persons a snapshot leaves
// out, and the person workflows run the leaver against Samba AD.
//
// Real servers cannot skip time: the policy's end-of-day time (lastDayEndsAt) is set two minutes
// ahead, so the person ended today reaches the end of their last day, and the leaver's timer
// fires, during the test (as in lifecycle.test.ts). The default-off case flips the flag on the
// worker's policy object for one import rather than starting a second stack.

const runId = Date.now().toString(36).toUpperCase();
const target = new Date(Date.now() + 120_000);
const today = helsinkiDate(target);
const clock = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Helsinki',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
}).format(target);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-import-auth-it-'));

interface Row {
  id: string;
  start: string;
}
const csv = (rows: Row[]) =>
  hrCsv(
    rows.map((r) => ({
      employeeId: r.id,
      firstNames: 'Väinö',
      lastName: `Östman${runId}`,
      jobTitle: 'Lähihoitaja',
      jobCode: 'SH01',
      orgUnit: 'SOTE-110',
      employmentType: 'permanent',
      startDate: r.start,
    })),
  );

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('an authoritative HR snapshot ends the persons it leaves out', () => {
  let stack: Stack;
  let seq = 0;
  // Everyone works already: the mass-change guard counts losses against the *active* identities
  // (started, not ended), so the 20 are the population the percentages below are of.
  const staff: Row[] = Array.from({ length: 20 }, (_, i) => ({
    id: `AUT${runId}-${String(i).padStart(3, '0')}`,
    start: addDays(today, -30),
  }));
  const leaver = staff[0]!.id;

  /** Starts `tunnus hr import` detached; the import's workflow handle. */
  const startImport = async (rows: Row[]) => {
    const file = path.join(dir, `snapshot-${++seq}.csv`);
    fs.writeFileSync(file, csv(rows));
    const out = new Capture();
    const code = await cli(['hr', 'import', file, '--detach'], out);
    assert.equal(code, 0, out.text);
    const importId = /import (import-hr-[0-9a-f]{16}) started/.exec(out.text)?.[1];
    assert.ok(importId, out.text);
    return stack.client.workflow.getHandle(importId);
  };
  const received = async (id: string) => (await personState(stack.client, id))?.recordsReceived ?? 0;

  before(async () => {
    stack = await startStack({
      policy: (p) => {
        p.intake.snapshotsAuthoritative.hr = true;
        // The 20 are all ERP nurses: the sample policy's lower ERP-* threshold (2 %) would stop
        // even one end here; this file is about the overall threshold (5 %).
        p.safety.groupThresholds = [];
        p.lifecycle.lastDayEndsAt = clock;
      },
    });
    Object.assign(process.env, stack.childEnv(), {
      TUNNUS_INDEX_FILE: path.join(dir, 'record-index.sqlite'),
    });
    delete process.env.RECORD_INDEX_URL;
    await stack.startWorker();

    await (await startImport(staff)).result();
    await eventually(
      async () => (await stack.directory.findByEmployeeId(leaver))?.enabled,
      (enabled) => enabled === true,
      60_000,
      'the working person has an enabled AD account',
    );
    await eventually(
      async () => (await personState(stack.client, leaver))?.stage,
      (stage) => stage === 'active',
      60_000,
      'the joiner finished',
    );
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('with the default (not authoritative), a snapshot leaving out 1 of 20 ends nobody', async () => {
    stack.policy.intake.snapshotsAuthoritative.hr = false;
    try {
      const result = (await (await startImport(staff.slice(1))).result()) as ImportProgress;
      assert.equal(result.analysis?.missingFromSnapshot, 1);
      assert.equal(result.analysis?.wouldEnd, 0);
      assert.equal(result.ended, undefined);
      assert.match(result.notInSnapshot ?? '', /not ended/);
    } finally {
      stack.policy.intake.snapshotsAuthoritative.hr = true;
    }
    assert.equal(await received(leaver), 1, 'no record was delivered');
    assert.equal((await stack.directory.findByEmployeeId(leaver))?.enabled, true);
  });

  it('with snapshotsAuthoritative.hr, the same snapshot ends that person: a leaver run, AD disabled', async () => {
    // The same rows in another order: another file (import id), the same snapshot.
    const result = (await (await startImport(staff.slice(1).reverse())).result()) as ImportProgress;
    assert.equal(result.analysis?.wouldEnd, 1);
    assert.equal(result.guard?.verdict, 'ok', '1 of 20 is within the 5 % threshold');
    assert.equal(result.ended, 1);
    assert.equal(result.delivered, 0);

    const state = await eventually(
      () => personState(stack.client, leaver),
      (s) => s?.runs.some((r) => r.kind === 'leaver' && r.outcome === 'completed') === true,
      200_000,
      'the leaver ran at the end of the last day',
    );
    assert.equal(state?.records?.hr?.endDate, today);
    assert.equal(state?.records?.hr?.jobTitle, 'Lähihoitaja', 'the current record, with an end date');
    assert.equal((await stack.directory.findByEmployeeId(leaver))?.enabled, false);
    for (const other of staff.slice(1)) assert.equal(await received(other.id), 1, other.id);
  });

  it('a snapshot leaving out 10 of 20 stops for approval before anyone is ended', async () => {
    // staff 10…19 are left out; staff 0 is left out too but has ended, so does not count.
    const handle = await startImport(staff.slice(1, 10));
    const waiting = await eventually(
      () => handle.query(importProgressQuery).catch(() => undefined),
      (p): p is ImportProgress => p?.phase === 'awaiting approval',
      30_000,
      'import waits for approval',
    );
    assert.equal(waiting?.analysis?.missingFromSnapshot, 11);
    assert.equal(waiting?.guard?.disables, 10);
    assert.equal(waiting?.guard?.managedIdentities, 20);
    const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    // The window counts the earlier end too: 11 of the 20 lose access within 24 h.
    assert.match(
      meta.currentDetails ?? '',
      /would take access from 11 of 20 active identities within 24 h \(1 of them earlier in the window\).*10 disables, 0 deletes/,
    );
    // Refused: cancelling ends nobody.
    await handle.cancel();
    await assert.rejects(handle.result());
    for (const other of staff.slice(10)) assert.equal(await received(other.id), 1, other.id);
  });
});
