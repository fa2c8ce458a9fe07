import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { inBatches } from '../in-batches';
import { endLoss } from '../domain/access-loss';
import { helsinkiDate } from '../domain/dates';
import type { IdentityRecord, SourceRecord } from '../domain/identity';
import { guardVerdict, windowStart } from '../domain/mass-change';
import { dueEndRef, type DueEndAdmission } from '../domain/person-state';
import type { Policy } from '../domain/policy';
import { holdChange } from '../ops/hold';
import { deliverAdmitted } from '../ops/intake';
import { askToReplan, deliverRecord, releaseHeldEnd } from '../ops/persons';
import type { RecordStore } from '../store/import-staging';
import { guardStore } from '../store/errors';
import type { HeldChange } from '../workflows/mass-change-hold';
import type { Source } from '../workflows/messages';
import { toIntakeFailure } from './temporal-errors';

// The held set's one side effect: once an operator approved it, deliver the held records to their
// person workflows and index them through the intake use-case's batch form (src/ops/intake.ts, as
// a PUT would), and mark their losses approved in the ledger.
// And the guard for ends falling due (admitDueEnd): an end date that arrived long before it fell
// due passed intake as no loss yet, so the person workflow asks here when its timer fires.

export interface GuardActivityDeps {
  client: Client;
  store: () => RecordStore;
  /** Hands a record to the person workflow; the real one signals with start. */
  deliver?: (record: SourceRecord, source: Source, taskQueue: string) => Promise<void>;
  /** The policy's safety figures and managed groups (for admitDueEnd). */
  policy?: Policy;
  now?: () => Date;
}

export const createGuardActivities = ({
  client,
  store,
  deliver = async (record, source, taskQueue) =>
    void (await deliverRecord(client, record, source, taskQueue)),
  policy,
  now = () => new Date(),
}: GuardActivityDeps) => ({
  /**
   * An end of access falls due (the person's end-of-last-day timer) that the guard has not counted:
   * admitted into the rolling window if under the threshold, else held in the held set (the person
   * waits for `guardReleased`). Idempotent by identity and ref `end:{id}:{endDate}`: an identity
   * already in the window is not counted again, and a retry finds its own held row.
   */
  async admitDueEnd(input: {
    identityId: string;
    endDate: string;
    /** The record the person plans with (its roles make the groups lost). */
    record: IdentityRecord;
    /** The source record, as the held set keeps records (shown, never delivered for an end). */
    source: Source;
    sourceRecord: SourceRecord;
  }): Promise<DueEndAdmission> {
    if (!policy) throw new Error('admitDueEnd needs the policy (createGuardActivities({ policy }))');
    return guardStore(async () => {
      const index = store();
      const { identityId, endDate } = input;
      const ref = dueEndRef(identityId, endDate);
      const asOf = now();
      const safety = policy.safety;
      const held = await index.heldLosses([identityId]);
      // A newer record of the person waits in the held set: its approval delivers that record.
      if (held.some((h) => h.ref !== ref)) return { admitted: false, affected: held.length };
      // This end held already (a retry): the signal to the held set may not have gone out.
      const retried = held.length > 0;
      // The last working day still counts as active: the denominator is taken on the end date.
      const today = helsinkiDate(asOf);
      const active = await index.countActive(endDate < today ? endDate : today);
      const loss = endLoss(identityId, input.record, policy);
      const pending = [{ identityId, kind: loss.kind, groups: loss.groups }];
      const since = windowStart(asOf, safety.windowHours);
      let affected = 1;
      if (retried) {
        affected = guardVerdict({
          activeIdentities: active,
          window: await index.windowLosses(since),
          pending,
          safety,
        }).affected;
      } else {
        const admitted = await index.admitLosses({ ref, losses: pending, since }, (window) => {
          const v = guardVerdict({ activeIdentities: active, window, pending, safety });
          affected = v.affected;
          // Counted already (at intake, or this activity retried after writing): not again.
          if (window.some((l) => l.identityId === identityId && l.kind !== 'roleChange')) return true;
          return v.verdict === 'ok';
        });
        if (admitted) return { admitted: true, affected };
        await index.holdLosses(ref, pending);
      }
      await holdChange(
        client,
        {
          identityId,
          source: input.source,
          record: input.sourceRecord,
          loss,
          ref,
          activeIdentities: active,
          safety,
          dueEnd: endDate,
        },
        Context.current().info.taskQueue,
      ).catch((err: unknown) => {
        throw toIntakeFailure(err);
      });
      return { admitted: false, affected };
    });
  },

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
      const signals = input.changes.filter((c) => c.dueEnd || c.replan);
      await inBatches(signals, 16, async (c) => {
        // An end that fell due and was held: the person runs its leaver on this signal.
        const signal = c.dueEnd
          ? releaseHeldEnd(client, c.identityId, { endDate: c.dueEnd, approvedBy: input.approvedBy })
          : askToReplan(client, c.identityId, `policy change approved by ${input.approvedBy}`);
        await signal.catch((err: unknown) => {
          throw toIntakeFailure(err);
        });
        ctx.heartbeat(++done);
      });
      // The held records: approved as a set, so delivered as admitted (unchanged: a retry).
      const records = input.changes.filter((c) => !c.dueEnd && !c.replan);
      for (let i = 0; i < records.length; i += 200) {
        const chunk = records.slice(i, i + 200);
        await deliverAdmitted(
          { index, deliver: (record, source) => deliver(record, source, ctx.info.taskQueue) },
          chunk.map((c) => ({ record: c.record, source: c.source })),
        ).catch((err: unknown) => {
          throw toIntakeFailure(err);
        });
        done += chunk.length;
        ctx.heartbeat(done);
      }
      await index.releaseHeld(
        input.changes.map((c) => c.identityId),
        input.approvedBy,
      );
      return done;
    });
  },
});

export type GuardActivities = ReturnType<typeof createGuardActivities>;
