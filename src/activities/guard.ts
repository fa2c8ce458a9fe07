import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { deliverRecord, inBatches } from '../client';
import { indexKeyOf, type SourceRecord } from '../domain/identity';
import type { RecordStore } from '../store/import-staging';
import { indexDates, indexFingerprint } from '../store/record-index';
import { guardStore } from '../store/errors';
import type { HeldChange } from '../workflows/mass-change-hold';
import { personWorkflowId, replanSignal, type Source } from '../workflows/messages';
import { toIntakeFailure } from './temporal-errors';

// The held set's one side effect: once an operator approved it, deliver the held records to their
// person workflows (as a PUT would), index them, and mark their losses approved in the ledger.

export interface GuardActivityDeps {
  client: Client;
  store: () => RecordStore;
  /** Hands a record to the person workflow; the real one signals with start. */
  deliver?: (record: SourceRecord, source: Source, taskQueue: string) => Promise<void>;
}

export const createGuardActivities = ({
  client,
  store,
  deliver = async (record, source, taskQueue) =>
    void (await deliverRecord(client, record, source, taskQueue)),
}: GuardActivityDeps) => ({
  /** Idempotent: a retried release delivers the same records again, which the workflows drop. */
  async releaseHeldChanges(input: {
    changes: HeldChange[];
    approvedBy: string;
    ref: string;
  }): Promise<number> {
    return guardStore(async () => {
      const ctx = Context.current();
      const index = store();
      let done = 0;
      await inBatches(input.changes, 16, async (c) => {
        if (c.replan) {
          await client.workflow
            .getHandle(personWorkflowId(c.identityId))
            .signal(replanSignal, { reason: `policy change approved by ${input.approvedBy}` })
            .catch((err: unknown) => {
              throw toIntakeFailure(err);
            });
          ctx.heartbeat(++done);
          return;
        }
        await deliver(c.record, c.source, ctx.info.taskQueue).catch((err: unknown) => {
          throw toIntakeFailure(err);
        });
        await index.put(
          indexKeyOf(c.source, c.record),
          indexFingerprint(c.record),
          c.source,
          indexDates(c.record),
        );
        ctx.heartbeat(++done);
      });
      await index.releaseHeld(
        input.changes.map((c) => c.identityId),
        input.approvedBy,
      );
      return done;
    });
  },
});

export type GuardActivities = ReturnType<typeof createGuardActivities>;
