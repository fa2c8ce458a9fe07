import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { ensureTemporalDevServer } from '../../sandbox/temporal';
import { sweepEndedImports } from '../../src/ops/staging-sweep';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { sealRecordStore } from '../../src/store/sealed-store';
import type { RecordStore } from '../../src/store/import-staging';
import { TEST_TEMPORAL_PORT } from '../support/stack';
import { throwawayIdentityKeys } from '../support/throwaway-keys';

// Staged rows go when an import ends however it ends. A terminated import runs no `finally`: the
// sweep (worker start, next import) drops its rows, and keeps those of a running import. Against
// the real dev server; no worker polls the queue, so the imports stay exactly as the test puts them.

let client: Client;
let connection: Connection;
let store: RecordStore;
const keys = throwawayIdentityKeys();
const taskQueue = `sweep-${randomUUID()}`;

before(async () => {
  const server = await ensureTemporalDevServer({
    port: TEST_TEMPORAL_PORT,
    uiPort: TEST_TEMPORAL_PORT + 1000,
  });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
  store = sealRecordStore(openSqliteIndex({ file: ':memory:' }), keys);
});
after(async () => {
  await store?.close();
  await connection?.close();
});

const row = (employeeId: string) => ({
  line: 2,
  record: {
    employeeId,
    firstNames: 'Aino',
    lastName: 'Sweepinen',
    jobTitle: 'Hoitaja',
    jobCode: 'NURSE',
    orgUnit: 'SOTE-300',
    employmentType: 'permanent' as const,
    startDate: '2026-03-01',
  },
});

async function stagedImport(): Promise<{ importId: string; stagingId: string }> {
  const importId = `import-hr-sweep${randomUUID().slice(0, 8)}`;
  const stagingId = `${importId}/${randomUUID()}`;
  await store.stage(stagingId, [row(`E${Math.floor(Math.random() * 1e6)}`)]);
  await client.workflow.start('importWorkflow', {
    workflowId: importId,
    taskQueue,
    args: [{ importId, stagingId, source: 'hr', total: 1, rejectedRows: 0 }],
  });
  return { importId, stagingId };
}

describe('staging sweep', () => {
  it("drops a terminated import's rows, keeps a running one's, and an unstarted one's until the grace ends", async () => {
    const terminated = await stagedImport();
    const running = await stagedImport();
    const unstarted = `import-hr-never${randomUUID().slice(0, 8)}/${randomUUID()}`;
    await store.stage(unstarted, [row('E424242')]);
    await client.workflow.getHandle(terminated.importId).terminate('test: terminate leaves no finally');

    const first = await sweepEndedImports({ client, store });
    assert.deepEqual(first.dropped, [terminated.stagingId]);
    assert.equal(await store.stagedCount(terminated.stagingId), 0, 'terminated: rows gone');
    assert.equal(await store.stagedCount(running.stagingId), 1, 'running: rows kept');
    assert.equal(await store.stagedCount(unstarted), 1, 'just staged, not yet started: kept');

    // The CLI died between staging and start: after the grace period the rows go too.
    const later = await sweepEndedImports({ client, store, now: () => new Date(Date.now() + 3_600_000) });
    assert.deepEqual(later.dropped, [unstarted]);
    assert.equal(await store.stagedCount(running.stagingId), 1, 'still running: still kept');

    await client.workflow.getHandle(running.importId).terminate('test: cleanup');
    const last = await sweepEndedImports({ client, store });
    assert.deepEqual(last.dropped, [running.stagingId]);
    assert.deepEqual(await store.stagedImports(), [], 'nothing left staged');
  });
});
