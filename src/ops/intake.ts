import { classifyChange } from '../domain/access-loss';
import { helsinkiDate } from '../domain/dates';
import { identityIdOf, indexKeyOf, type SourceRecord } from '../domain/identity';
import type { Loss } from '../domain/mass-change';
import type { PersonState } from '../domain/person-state';
import type { Policy } from '../domain/policy';
import type { RecordIndex } from '../store/record-index';
import { indexDates } from '../store/record-index';
import type { HeldChange } from '../workflows/mass-change-hold';
import { HOLD_WORKFLOW_ID } from '../workflows/mass-change-hold';
import { personWorkflowId, type Source } from '../workflows/messages';
import { admitLosses, recordAfter, type GuardStore } from './guard';

// The one intake use-case for single records: `PUT /api/v1/persons/{id}`, `tunnus hire` and
// `tunnus plan apply` of a record or snapshot plan all deliver through `deliver` below, so none
// skips the mass-change guard. Unchanged (the index holds its hash) → nothing reaches Temporal.
// A change that takes access away is admitted into the guard's window, or — over the threshold,
// or while the person already waits there — held for approval in the held set.

/** What the intake needs from the workflow side (src/api/intake.ts implements it over Temporal). */
export interface IntakePort {
  /** Hands the record to the person's entity workflow (starting it if needed); its workflow id. */
  deliver(record: SourceRecord, source: Source): Promise<string>;
  /** The person's state, or null when the person is unknown. */
  personState(identityId: string): Promise<PersonState | null>;
  /** Puts a change in the held set (signal-with-start of `mass-change-hold`). */
  hold(change: HeldChange): Promise<void>;
  /** Takes a held person's change out of the held set (a newer record takes nothing away). */
  dropHeld(identityId: string): Promise<void>;
}

export interface DeliveryOutcome {
  workflowId: string;
  /** held: waits for approval in the held set (workflowId is then `mass-change-hold`). */
  status: 'unchanged' | 'accepted' | 'held';
  /** What the change takes away, when it does. */
  loss?: Loss;
  /** Why it is held, in words. */
  reason?: string;
}

export interface DeliveryDeps {
  port: IntakePort;
  index: RecordIndex & GuardStore;
  policy: Policy;
  now?: () => Date;
}

export interface RecordDelivery {
  /** Delivers one record; `origin` names the path and operator (`api:{client}`, `cli:{user}`). */
  deliver(record: SourceRecord, source: Source, origin: string): Promise<DeliveryOutcome>;
}

export function createRecordDelivery(deps: DeliveryDeps): RecordDelivery {
  const { port, index, policy } = deps;
  const now = deps.now ?? (() => new Date());
  const inFlight = new Map<string, Promise<unknown>>();

  // Records for the same person run one after another in this process. Without that, records A
  // and B arriving together could reach the workflow as A,B but the index as B,A: the index would
  // then call the workflow's record "unchanged" and drop the next real update.
  const serialised = <T>(key: string, task: () => Promise<T>): Promise<T> => {
    const before = inFlight.get(key); // settles, never rejects
    const run = before ? before.then(task) : task();
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    inFlight.set(key, settled);
    void settled.then(() => {
      if (inFlight.get(key) === settled) inFlight.delete(key);
    });
    return run;
  };

  return {
    deliver(record, source, origin) {
      const identityId = identityIdOf(source, record);
      const key = indexKeyOf(source, record);
      return serialised(identityId, async () => {
        const fingerprint = await index.fingerprint(key, record);
        const [known, held] = await Promise.all([index.get(key), index.heldLosses([identityId])]);
        if (known?.fingerprint === fingerprint && held.length === 0) {
          return { workflowId: personWorkflowId(identityId), status: 'unchanged' };
        }
        const asOf = now();
        const state = await port.personState(identityId);
        const after = recordAfter(source, state, record);
        const loss = after && classifyChange({ identityId, before: state?.record, after, policy, asOf });

        const hold = async (reason: string, activeIdentities: number): Promise<DeliveryOutcome> => {
          await index.holdLosses(origin, [loss!]);
          await port.hold({
            identityId,
            source,
            record,
            loss: loss!,
            ref: origin,
            activeIdentities,
            safety: policy.safety,
          });
          return { workflowId: HOLD_WORKFLOW_ID, status: 'held', loss: loss!, reason };
        };

        if (held.length > 0) {
          // The person waits in the held set: a newer record that still takes access away joins it
          // (HR's newest word, in order); one that takes nothing away replaces it and goes through.
          if (loss) {
            const active = await index.countActive(helsinkiDate(asOf));
            return hold('an earlier change for this person waits for approval', active);
          }
          await port.dropHeld(identityId);
          await index.releaseHeld([identityId], `superseded:${origin}`);
        }
        if (loss) {
          const admission = await admitLosses({ store: index, policy, now: () => asOf }, origin, [loss]);
          if (!admission.admitted && admission.verdict === 'needsApproval') {
            return hold(admission.reason, admission.managedIdentities);
          }
        }
        const workflowId = await port.deliver(record, source);
        // Only after the workflow has the record: a failed delivery must not mark it as known.
        await index.put(key, fingerprint, source, indexDates(record));
        return { workflowId, status: 'accepted', ...(loss ? { loss } : {}) };
      });
    },
  };
}
