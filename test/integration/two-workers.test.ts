import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { deliverRecord, personState } from '../../src/ops/persons';
import type { DirectoryAccount } from '../../src/domain/account';
import { helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import type { PersonState } from '../../src/workflows/messages';
import { eventually, startStack, type Stack } from '../support/stack';
import { killNow, startChildWorker, waitForWorkerPoll } from '../support/worker-process';

// Scale-out (issue 12): two worker processes on one task queue against one Temporal server and
// one DC. Joiners who share a name are spread over both workers, whose name queues are their own:
// only AD's uniqueness check stands between them. The accounts must come out exactly as one worker
// would make them, and when one worker is killed -9 mid-run the other finishes every run.

const runId = Date.now().toString(36).toUpperCase();
const today = () => helsinkiDate(new Date());

function joiner(employeeId: string, firstNames: string, lastName: string): HrRecord {
  return {
    employeeId,
    firstNames,
    lastName,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: today(),
  };
}

/** n people per first name, all with one surname: name collisions are the point. */
function people(prefix: string, firstNames: string[], lastName: string, n: number): HrRecord[] {
  return firstNames.flatMap((first, f) =>
    Array.from({ length: n }, (_, i) => joiner(`${prefix}${runId}-${f}-${i}`, first, lastName)),
  );
}

/** What one worker would create for n people of one name: base, base2 … basen, no gaps. */
const expectedNames = (base: string, n: number) =>
  Array.from({ length: n }, (_, i) => (i === 0 ? base : `${base}${i + 1}`)).sort();

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

describe('two workers on one task queue, one Temporal server, one DC', () => {
  let stack: Stack;
  const workers = new Map<string, ChildProcess>();
  const A = `it-worker-a-${runId}`;
  const B = `it-worker-b-${runId}`;

  before(async () => {
    stack = await startStack();
    for (const identity of [A, B]) workers.set(identity, startChildWorker(stack, { identity }));
    await Promise.all([A, B].map((id) => waitForWorkerPoll(stack, workers.get(id)!, id)));
  });
  after(async () => {
    for (const child of workers.values()) await killNow(child);
    await stack.close();
  });

  const deliverAll = (records: HrRecord[]) =>
    Promise.all(records.map((r) => deliverRecord(stack.client, r, 'hr', stack.taskQueue)));
  const done = (s: PersonState | null) =>
    !!s && s.stage === 'active' && s.runs.length > 0 && s.runs.every((r) => r.endedAt);
  const allSettled = (ids: string[], timeoutMs: number) =>
    eventually(
      () => Promise.all(ids.map((id) => personState(stack.client, id))),
      (states) => states.every((s) => done(s) || s?.stage === 'failed'),
      timeoutMs,
      `${ids.length} joiners settled`,
    );

  /** Every event of the person's workflow and of the runs it started. */
  async function histories(employeeId: string): Promise<HistoryEvent[]> {
    const person =
      (await stack.client.workflow.getHandle(`person-${employeeId}`).fetchHistory()).events ?? [];
    const children = person
      .map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId)
      .filter((id): id is string => !!id);
    const runs = await Promise.all(
      children.map(async (id) => (await stack.client.workflow.getHandle(id).fetchHistory()).events ?? []),
    );
    return [...person, ...runs.flat()];
  }

  /** Workflow and activity tasks started, by worker identity (after `since`, ms, when given). */
  async function tasksByWorker(ids: string[], since = 0): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const id of ids) {
      for (const e of await histories(id)) {
        const identity =
          e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
        const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
        if (identity && at >= since) counts.set(identity, (counts.get(identity) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** The accounts of these people, checked one per employeeID, and every name in the directory. */
  async function accountsOf(ids: string[]): Promise<{ mine: DirectoryAccount[]; all: DirectoryAccount[] }> {
    const all = await stack.directory.listAccounts();
    const wanted = new Set(ids);
    const mine = all.filter((a) => wanted.has(a.employeeId));
    const perId = new Map<string, number>();
    for (const a of mine) perId.set(a.employeeId, (perId.get(a.employeeId) ?? 0) + 1);
    assert.deepEqual(
      [...perId.entries()].filter(([, n]) => n !== 1),
      [],
      'no employeeID has more than one account',
    );
    assert.equal(mine.length, ids.length, 'every joiner has an account');
    for (const attr of ['sAMAccountName', 'userPrincipalName', 'mail'] as const) {
      const values = all.map((a) => a[attr]?.toLowerCase()).filter(Boolean);
      assert.equal(new Set(values).size, values.length, `${attr} unique across the directory`);
    }
    return { mine, all };
  }

  function assertNamesAsOneWorker(accounts: DirectoryAccount[], bases: string[], perName: number): void {
    for (const base of bases) {
      const names = accounts
        .map((a) => a.sAMAccountName.toLowerCase())
        .filter((s) => s === base || (s.startsWith(base) && /^\d+$/.test(s.slice(base.length))))
        .sort();
      assert.deepEqual(names, expectedNames(base, perName), `names for ${base}: 1…${perName}, no gaps`);
    }
  }

  it('40 joiners with 4 names: all complete, one account each, names as one worker would give, both workers worked', async () => {
    const lastName = `K${runId}`;
    const firsts = ['Aino', 'Eero', 'Helmi', 'Onni'];
    const records = people('TW', firsts, lastName, 10);
    const ids = records.map((r) => r.employeeId);
    await deliverAll(records);
    const states = await allSettled(ids, 300_000);
    assert.deepEqual(
      states.filter((s) => !done(s)).map((s) => s?.employeeId),
      [],
      'every joiner active, its run ended',
    );
    assert.ok(
      states.every((s) => s!.runs.length === 1),
      'one run each: nothing started twice',
    );
    const { mine } = await accountsOf(ids);
    assert.ok(mine.every((a) => a.enabled));
    const bases = firsts.map((f) => `${f}.${lastName}`.toLowerCase());
    assertNamesAsOneWorker(mine, bases, 10);
    // The cloud side too: one cloud user per person (the employeeId is Graph's key as well).
    const cloudUsers = stack.sims.graph.state.listUsers().filter((u) => ids.includes(u.employeeId ?? ''));
    assert.equal(new Set(cloudUsers.map((u) => u.employeeId)).size, 40);
    assert.equal(cloudUsers.length, 40, 'one cloud user per person');

    const byWorker = await tasksByWorker(ids);
    assert.ok((byWorker.get(A) ?? 0) > 0, `worker A ran tasks: ${JSON.stringify([...byWorker])}`);
    assert.ok((byWorker.get(B) ?? 0) > 0, `worker B ran tasks: ${JSON.stringify([...byWorker])}`);
    assert.deepEqual(
      [...byWorker.keys()].filter((k) => k !== A && k !== B),
      [],
      'no other worker took part',
    );
  });

  it('one worker killed -9 mid-run: the other finishes every joiner, with no duplicate', async () => {
    const lastName = `T${runId}`;
    const firsts = ['Lumi', 'Veeti'];
    const records = people('TK', firsts, lastName, 10);
    const ids = records.map((r) => r.employeeId);
    // Hold the runs mid-process (AD down), so the kill lands inside runs the victim holds.
    await stack.samba.stop();
    let killedAt: number;
    try {
      await deliverAll(records);
      await eventually(
        async () => {
          const described = await Promise.all(
            ids.map((id) =>
              stack.client.workflow
                .getHandle(`joiner-${id}-1`)
                .describe()
                .catch(() => undefined),
            ),
          );
          return described.flatMap((d) => d?.raw.pendingActivities ?? []).map((p) => p.lastWorkerIdentity);
        },
        (holders) => holders.includes(A),
        90_000,
        'a run step held by worker A',
      );
      await killNow(workers.get(A)!);
      killedAt = Date.now();
    } finally {
      await stack.samba.start();
    }
    const states = await allSettled(ids, 300_000);
    assert.deepEqual(
      states.filter((s) => !done(s)).map((s) => s?.employeeId),
      [],
      'every joiner active after the kill, its run ended',
    );
    assert.ok(
      states.every((s) => s!.runs.length === 1),
      'the same runs finished: no second joiner',
    );
    const { mine } = await accountsOf(ids);
    assert.ok(mine.every((a) => a.enabled));
    assertNamesAsOneWorker(
      mine,
      firsts.map((f) => `${f}.${lastName}`.toLowerCase()),
      10,
    );
    const afterKill = await tasksByWorker(ids, killedAt);
    assert.ok((afterKill.get(B) ?? 0) > 0, 'worker B took over');
    assert.equal(afterKill.get(A) ?? 0, 0, 'nothing ran on the dead worker after the kill');
  });
});
