import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { helsinkiDate } from '../../src/domain/dates';
import { identityRow } from '../../src/domain/identity-row';
import { completeRow } from '../../src/domain/managed-identity';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import type { RecordStore } from '../../src/store/import-staging';
import { personWorkflowId } from '../../src/workflows/messages';
import { personHarness, startDirectoryWorker } from '../support/person-harness';

// The person workflow writes its identity read model row after every state change, in the order
// of its state, once per pass (time-skipping server, in-memory directory, a SQLite store).
const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
policy.roles.forEach((role) => (role.cloud = false));
policy.telephony.enabled = false;

const nurse = (employeeId: string, startDate: string, over: Partial<HrRecord> = {}): HrRecord => ({
  employeeId,
  firstNames: 'Aino',
  lastName: 'Rivinen',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-100',
  employmentType: 'permanent',
  startDate,
  ...over,
});

describe('the person workflow keeps its identity read model row', () => {
  let env: TestWorkflowEnvironment;
  let taskQueue: string;
  let store: RecordStore;
  let stop: () => Promise<void>;
  before(async () => {
    ({ env, taskQueue, store, stop } = await startDirectoryWorker(policy, 'read-model-test'));
  });
  after(() => stop());
  const harness = () => personHarness(env, taskQueue);
  const writes = async (id: string) => {
    const history = await env.client.workflow.getHandle(personWorkflowId(id)).fetchHistory();
    // A regular activity, or (read-model-local) a local activity's marker, whose data names its type.
    return (history.events ?? []).filter(
      (e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'recordIdentity' ||
        (e.markerRecordedEventAttributes?.markerName === 'core_local_activity' &&
          Buffer.from(e.markerRecordedEventAttributes.details?.data?.payloads?.[0]?.data ?? []).includes(
            '"recordIdentity"',
          )),
    ).length;
  };

  it('a joiner: the row equals the state projected, with what the run left; two writes, not one per signal', async () => {
    const h = harness();
    const id = `RM${Date.now()}`;
    const today = helsinkiDate(new Date(await h.now()));
    await h.deliver(nurse(id, today));
    const state = await h.idle(id);
    assert.equal(state.stage, 'active');
    const row = await store.identities.get(id);
    assert.ok(row && state.row, 'a row and its stamp');
    assert.deepEqual(row, completeRow(identityRow(state, state.row), policy, undefined));
    assert.equal(row.version, state.row.version);
    assert.equal(row.phase, 'active');
    assert.equal(row.record?.jobCode, 'SH01');
    assert.equal(row.account?.sAMAccountName, state.account?.sAMAccountName);
    assert.equal(row.runs.at(-1)?.outcome, 'completed');
    assert.ok(row.entitlements && row.entitlements.groups.length > 0, 'the groups the joiner left');
    // The run started (stage joining) and the person went idle (active): one write each.
    assert.equal(await writes(id), 2);

    // The same record again (a duplicate) changes nothing the row shows: no write.
    await h.deliver(nurse(id, today));
    await h.until(id, (s) => s.duplicatesIgnored === 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await writes(id), 2);

    // A changed record: the mover's start and its end, each a newer version.
    await h.deliver(nurse(id, today, { jobCode: 'LK01', jobTitle: 'Lääkäri' }));
    await h.until(id, (s) => s.version === 2);
    const after = await h.idle(id);
    const moved = await store.identities.get(id);
    assert.equal(moved?.record?.jobCode, 'LK01');
    assert.equal(moved?.version, after.row?.version);
    assert.ok(moved.version > row.version);
    assert.equal(moved?.entitlements?.forVersion, 2);
    assert.equal(await writes(id), 4);
    // An older row (a retried write overtaken by a newer one) never comes back.
    assert.equal(await store.identities.write(row), 'stale');
    assert.equal((await store.identities.get(id))?.record?.jobCode, 'LK01');
  });
});
