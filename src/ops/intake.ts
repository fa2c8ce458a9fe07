import { classifyChange } from '../domain/access-loss';
import { helsinkiDate } from '../domain/dates';
import { identityIdOf, indexKeyOf, type SourceRecord } from '../domain/identity';
import type { Loss } from '../domain/mass-change';
import type { PersonState } from '../domain/person-state';
import type { Policy } from '../domain/policy';
import { inBatches } from '../in-batches';
import type { IndexWrite, RecordIndex } from '../store/record-index';
import { indexDates } from '../store/record-index';
import type { HeldChange } from '../workflows/mass-change-hold';
import { HOLD_WORKFLOW_ID } from '../workflows/mass-change-hold';
import { personWorkflowId, type Source } from '../workflows/messages';
import { admitLosses, recordAfter, type GuardStore } from './guard';

// The one intake use-case. Every delivery path goes through it, with the same three rules:
// 1. unchanged (the index holds the record's keyed fingerprint) → nothing reaches Temporal;
// 2. a change that takes access away passes the mass-change guard first;
// 3. the index entry is written only after the person workflow has the record (a failed delivery
//    must not mark it as known), with the same key, fingerprint, source and dates on every path.
// The person workflow then writes the identity read model's row itself (src/activities/read-model.ts),
// so the row is the same whichever path brought the record.
//
// Single records — `PUT /api/v1/persons/{id}`, `tunnus hire`, `tunnus plan apply` of a record or
// snapshot plan — use `createRecordDelivery().deliver`: the guard per record (admitted into its
// window, or held for approval in the held set). Batches — snapshot imports (the import activity
// over its staged rows, src/activities/import.ts), the authoritative import's ends, the held set's
// release — use `deliverAdmitted`: their losses were admitted (or approved) as one set before
// delivery starts, so rule 2 has been applied to the whole set already.

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
      return serialised(identityId, async () => {
        const [[classified], held] = await Promise.all([
          classifyRecords(index, [{ record, source }]),
          index.heldLosses([identityId]),
        ]);
        const { fingerprint } = classified!;
        if (classified!.unchanged && held.length === 0) {
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
        await index.putMany([indexWrite({ record, source }, fingerprint)]);
        return { workflowId, status: 'accepted', ...(loss ? { loss } : {}) };
      });
    },
  };
}

/** A record to deliver, from its source; `line` is the snapshot line it came from (imports). */
export interface IntakeItem<R extends SourceRecord = SourceRecord> {
  record: R;
  source: Source;
  line?: number;
}

export interface ClassifiedItem<I extends IntakeItem = IntakeItem> {
  item: I;
  /** The index key (indexKeyOf: the identity id; a teacher's education row has its own). */
  key: string;
  /** The record's keyed fingerprint (the index's own, under the person's key). */
  fingerprint: string;
  /** The index holds an entry for the key. */
  known: boolean;
  /** The index holds this very fingerprint: rule 1, nothing to deliver. */
  unchanged: boolean;
}

/** Rule 1 for any number of records: one getMany against the index. In the order given. */
export async function classifyRecords<I extends IntakeItem>(
  index: Pick<RecordIndex, 'getMany' | 'fingerprint'>,
  items: readonly I[],
): Promise<ClassifiedItem<I>[]> {
  const keys = items.map((i) => indexKeyOf(i.source, i.record));
  const [known, fingerprints] = await Promise.all([
    index.getMany(keys),
    Promise.all(items.map((i, n) => index.fingerprint(keys[n]!, i.record))),
  ]);
  return items.map((item, n) => {
    const entry = known.get(keys[n]!);
    const fingerprint = fingerprints[n]!;
    return {
      item,
      key: keys[n]!,
      fingerprint,
      known: !!entry,
      unchanged: entry?.fingerprint === fingerprint,
    };
  });
}

/** Rule 3's write: the same entry whichever path delivered the record. */
export function indexWrite(item: IntakeItem, fingerprint: string): IndexWrite {
  return {
    employeeId: indexKeyOf(item.source, item.record),
    fingerprint,
    source: item.source,
    ...indexDates(item.record),
  };
}

export interface AdmittedBatchDeps {
  index: Pick<RecordIndex, 'getMany' | 'fingerprint' | 'putMany'>;
  /** Hands the record to the person workflow (src/ops/persons.ts deliverRecord, on a task queue). */
  deliver: (record: SourceRecord, source: Source) => Promise<unknown>;
  /**
   * A failure that is this record's alone (Temporal rejected it): counted in `failed`, the others
   * go on. Any other failure (Temporal unavailable) is thrown once the records in flight have
   * settled, and none of the batch is indexed: the retry delivers them again (the person workflows
   * drop the duplicates) and counts them as delivered by this batch, not as unchanged.
   */
  isRejected?: (err: unknown) => boolean;
  /** Deliveries in flight (default 16). */
  concurrency?: number;
}

export interface AdmittedBatchOutcome<I extends IntakeItem = IntakeItem> {
  /** Rule 1: the index held the fingerprint; nothing reached Temporal. */
  unchanged: I[];
  delivered: I[];
  failed: { item: I; error: unknown }[];
}

/**
 * Delivers records whose losses of access were admitted as one set beforehand (see the top):
 * unchanged ones are skipped, the others handed to their person workflows, and the index entries
 * of those delivered written in one putMany after. A record delivered twice (a retried batch) is
 * dropped by the person workflow as a duplicate.
 */
export async function deliverAdmitted<I extends IntakeItem>(
  deps: AdmittedBatchDeps,
  items: readonly I[],
): Promise<AdmittedBatchOutcome<I>> {
  const classified = await classifyRecords(deps.index, items);
  const outcome: AdmittedBatchOutcome<I> = { unchanged: [], delivered: [], failed: [] };
  const written: IndexWrite[] = [];
  let thrown: { error: unknown } | undefined;
  for (const c of classified) if (c.unchanged) outcome.unchanged.push(c.item);
  await inBatches(
    classified.filter((c) => !c.unchanged),
    deps.concurrency ?? 16,
    async (c) => {
      if (thrown) return;
      try {
        await deps.deliver(c.item.record, c.item.source);
        written.push(indexWrite(c.item, c.fingerprint));
        outcome.delivered.push(c.item);
      } catch (error) {
        if (deps.isRejected?.(error)) outcome.failed.push({ item: c.item, error });
        else thrown ??= { error };
      }
    },
  );
  if (thrown) throw thrown.error;
  await deps.index.putMany(written);
  return outcome;
}
