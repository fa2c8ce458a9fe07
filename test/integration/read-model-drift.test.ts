import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { deliverRecord } from '../../src/ops/persons';
import { CliContext } from '../../src/cli/context';
import { runCommandLine } from '../../src/cli/run';
import { parseEnv } from '../../src/config';
import type { HrRecord } from '../../src/domain/record';
import { rebuildReadModel, verifyReadModel, type ReadModelOpsDeps } from '../../src/ops/read-model';
import { openRecordIndex } from '../../src/store/open';
import type { RecordStore } from '../../src/store/import-staging';
import { allRows } from '../../src/store/read-model';
import { eventually, startStack, type Stack } from '../support/stack';

// Drift in the identity read model is found and repaired: real person workflows (dev server,
// Samba), their rows in the run's SQLite store; a row corrupted by hand is named by
// `tunnus index verify` (exit 1, the field named) and put right by `tunnus index rebuild`.

const runId = Date.now().toString(36).toUpperCase().slice(-6);
const nurse = (n: number): HrRecord => ({
  employeeId: `DR${runId}${n}`,
  firstNames: 'Aino',
  lastName: `Drift${n}${runId.toLowerCase()}`,
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-100',
  employmentType: 'permanent',
  startDate: '2026-01-01',
});

describe('identity read model drift: verify finds it, rebuild repairs it', () => {
  let stack: Stack;
  let store: RecordStore;
  let deps: ReadModelOpsDeps;
  const people = [1, 2, 3].map(nurse);
  const cli = async (args: string[]) => {
    let out = '';
    const sink = new Writable({ write: (c, _e, done) => ((out += String(c)), done()) });
    const err = new Writable({ write: (_c, _e, done) => done() });
    const code = await runCommandLine(args, new CliContext(sink, err, () => parseEnv(stack.childEnv())));
    return { code, out };
  };

  before(async () => {
    stack = await startStack();
    await stack.startWorker();
    store = openRecordIndex(parseEnv(stack.childEnv()));
    deps = {
      client: stack.client,
      model: store.identities,
      policy: stack.policy,
      taskQueue: stack.taskQueue,
    };
    for (const r of people) await deliverRecord(stack.client, r, 'hr', stack.taskQueue);
    for (const r of people) {
      await eventually(
        () => store.identities.get(r.employeeId),
        (row) => row?.stage === 'active' && row.runs.every((run) => !!run.endedAt),
        120_000,
        `${r.employeeId} active in the read model`,
      );
    }
  });
  after(async () => {
    await store?.close();
    await stack?.close();
  });

  it('live rows equal the rows rebuilt from the workflows, and verify finds no drift', async () => {
    const ids = new Set(people.map((p) => p.employeeId));
    const live = [];
    for await (const row of allRows(store.identities)) if (ids.has(row.identityId)) live.push(row);
    assert.equal(live.length, 3);
    const report = await verifyReadModel(deps);
    assert.deepEqual(report.drift, []);
    assert.equal(report.checked, 3);
    // Rebuilt into the same store: every row written again at its own version, nothing changes.
    const rebuilt = await rebuildReadModel(deps);
    assert.equal(rebuilt.written + rebuilt.newer, 3);
    const after = [];
    for await (const row of allRows(store.identities)) if (ids.has(row.identityId)) after.push(row);
    assert.deepEqual(after, live);
  });

  it('a row corrupted by hand: verify names the field and exits 1; rebuild repairs it', async () => {
    const victim = people[1]!.employeeId;
    const file = parseEnv(stack.childEnv()).TUNNUS_INDEX_FILE;
    const db = new Database(file);
    db.prepare(
      `UPDATE identity_read_model SET stage = 'deleted', body = json_set(body, '$.stage', 'deleted')
       WHERE identity_id = ?`,
    ).run(victim);
    db.close();
    assert.equal((await store.identities.get(victim))?.stage, 'deleted');

    const verify = await cli(['index', 'verify', '--json']);
    assert.equal(verify.code, 1);
    const report = JSON.parse(verify.out) as { drift: { identityId: string; fields: string[] }[] };
    assert.deepEqual(report.drift, [{ identityId: victim, fields: ['stage'] }]);

    const rebuild = await cli(['index', 'rebuild', '--json']);
    assert.equal(rebuild.code, 0, rebuild.out);
    assert.equal((await store.identities.get(victim))?.stage, 'active');
    const again = await cli(['index', 'verify', '--sample', '2']);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /2 identities checked: 0 drifted/);
  });
});
