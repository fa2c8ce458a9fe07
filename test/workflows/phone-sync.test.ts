import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createCloudActivities } from '../../src/activities/cloud';
import type { CloudDirectory } from '../../src/connectors/graph/cloud-directory';
import { DirectoryError } from '../../src/connectors/ldap/errors';
import type { ChangesPage, NumberChange, PhoneDirectory } from '../../src/connectors/phone/phone-directory';
import { parsePolicy } from '../../src/domain/policy';
import { phoneSyncWorkflow, type PhoneSyncResult } from '../../src/workflows/phone-sync';
import { MemoryDirectory } from '../support/memory-directory';
import { timeSkippingEnv, workflowBundle } from '../support/temporal';

// The periodic phone sync over a feed of 20,000 changes (a first sync, a bulk renumbering), one
// of which carries a number the directory refuses: the run pages through the feed with the
// cursor in history, continues as new to keep its history bounded, skips and reports the bad
// change, and ends with the cursor after the last change.

const FEED = 20_000;
const PAGE = 500;
const PAGES_PER_RUN = 10;
const BAD = 12_345;

/** AD's schema caps telephoneNumber at 64 characters; Samba answers 21 naming the attribute. */
class StrictDirectory extends MemoryDirectory {
  override async setPhoneNumbers(dn: string, phones: { telephoneNumber?: string; mobile?: string }) {
    for (const [attribute, value] of Object.entries(phones)) {
      if (value && value.length > 64) {
        throw new DirectoryError(
          'constraint',
          `setPhoneNumbers failed: LDAP result 21 (constraint, attribute ${attribute})`,
          false,
          21,
          attribute,
        );
      }
    }
    return super.setPhoneNumbers(dn, phones);
  }
}

const employeeId = (i: number) => `P${String(i).padStart(5, '0')}`;

/** The telephony feed as the platform pages it: sequence numbers as cursors, at most 500 a page. */
function feedOf(changes: NumberChange[]): PhoneDirectory & { pagesRead: number } {
  const feed = {
    pagesRead: 0,
    async changesSince(cursor?: string, limit = 100): Promise<ChangesPage> {
      feed.pagesRead++;
      const after = cursor === undefined ? 0 : Number(cursor);
      const page = changes.filter((c) => c.sequence > after).slice(0, Math.min(limit, 500));
      const last = page.at(-1)?.sequence ?? after;
      return { changes: page, next: String(last), hasMore: last < changes.length };
    },
    async numbersFor() {
      throw new Error('the page sync uses the numbers the change carries');
    },
  };
  return feed as unknown as PhoneDirectory & { pagesRead: number };
}

describe('phone sync over a large feed', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let directory: StrictDirectory;
  let feed: ReturnType<typeof feedOf>;
  const taskQueue = `phone-sync-${randomUUID()}`;
  // Accounts for a sample of the people (the rest are numbers of people Tunnus does not manage).
  const withAccounts = [1, 499, 500, 501, 9_999, BAD, 19_999, FEED];

  before(async () => {
    const policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));
    directory = new StrictDirectory([]);
    for (const i of withAccounts) {
      await directory.createAccount({
        employeeId: employeeId(i),
        ou: `OU=Staff,${directory.baseDn}`,
        cn: `person${i}`,
        sAMAccountName: `person${i}`,
        userPrincipalName: `person${i}@kerava.fi`,
        attributes: {} as never,
        password: 'unused',
      });
    }
    const changes: NumberChange[] = Array.from({ length: FEED }, (_, k) => {
      const i = k + 1;
      // The bad one: an extension and a note typed into the number field, over AD's limit.
      const e164 = i === BAD ? `+35891234${'5'.repeat(70)}` : `+3584${String(10_000_000 + i)}`;
      return {
        sequence: i,
        employeeId: employeeId(i),
        kind: 'assigned',
        numbers: [{ type: 'work', e164, primary: true }],
        changedAt: '2026-12-01T10:00:00.000Z',
      };
    });
    feed = feedOf(changes);
    const noCloud = { findUserByEmployeeId: async () => null } as unknown as CloudDirectory;
    env = await timeSkippingEnv();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        ...createCloudActivities(noCloud, directory, feed, policy),
        lastPhoneSyncCursor: async () => undefined,
      },
    });
    running = worker.run();
  });

  after(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  it('a feed of 20,000 changes with one rejected number completes in bounded history and reports the bad one', async () => {
    const workflowId = `phone-sync-${randomUUID()}`;
    const handle = await env.client.workflow.start(phoneSyncWorkflow, {
      workflowId,
      taskQueue,
      args: [{ pagesPerRun: PAGES_PER_RUN, pageSize: PAGE }],
    });
    const result: PhoneSyncResult = await handle.result();

    assert.equal(result.changes, FEED, 'every change read');
    assert.equal(result.pages, FEED / PAGE);
    assert.equal(result.cursor, String(FEED), 'the cursor is after the last change, past the bad one');
    assert.equal(result.rejectedCount, 1);
    assert.deepEqual(
      result.rejected.map((r) => [r.employeeId, r.sequence, r.type]),
      [[employeeId(BAD), BAD, 'DirectoryConstraint']],
    );
    assert.match(result.rejected[0]!.reason, /telephoneNumber/, 'the reason names the field');
    assert.doesNotMatch(result.rejected[0]!.reason, /\+358/, 'never the number itself');
    assert.equal(result.runs, FEED / PAGE / PAGES_PER_RUN, 'continued as new every 10 pages');

    // Everyone else with an account got their number; the bad one kept none.
    for (const i of withAccounts.filter((i) => i !== BAD)) {
      assert.equal(directory.account(employeeId(i))?.telephoneNumber, `+3584${String(10_000_000 + i)}`);
    }
    assert.equal(directory.account(employeeId(BAD))?.telephoneNumber, undefined);

    // Each run of the chain keeps a small history.
    let runId: string | undefined =
      (await handle.describe()).raw.workflowExecutionInfo?.firstRunId ?? undefined;
    const lengths: number[] = [];
    while (runId) {
      const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
      const events = history.events ?? [];
      lengths.push(events.length);
      const next = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      runId = next ?? undefined;
    }
    assert.equal(lengths.length, result.runs);
    assert.ok(Math.max(...lengths) < 150, `history per run: ${lengths.join(', ')}`);
    console.log(`phone-sync history per run (events): ${lengths.join(', ')}`);

    // The next sync starts from the returned cursor: nothing left, nothing rejected again.
    const again = await env.client.workflow.execute(phoneSyncWorkflow, {
      workflowId: `${workflowId}-next`,
      taskQueue,
      args: [{ cursor: result.cursor }],
    });
    assert.equal(again.changes, 0);
    assert.equal(again.rejectedCount, 0);
  });
});
