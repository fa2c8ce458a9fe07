import type { Client } from '@temporalio/client';
import { inBatches } from '../in-batches';
import { classifyChange } from '../domain/access-loss';
import { helsinkiDate } from '../domain/dates';
import type { IdentityRecord } from '../domain/identity';
import type { Loss } from '../domain/mass-change';
import type { Policy } from '../domain/policy';
import { admitLosses, type Admission, type GuardStore } from './guard';
import { holdChange } from './hold';
import { askToReplan } from './persons';

// A policy rollout through the mass-change guard (`tunnus plan apply <policy plan>
// --policy-deployed`): the same records under the old and the new policy; everyone who would lose
// access (a job code no longer mapped to ERP-Nurse) is a loss. Under the threshold: every changing
// person is asked to plan again. Over it: those losing access wait in the held set (released with
// a re-plan when approved), the others go ahead.

/** The losses a policy change causes, person by person (src/domain/access-loss.ts). */
export function rolloutLosses(
  records: readonly IdentityRecord[],
  previous: Policy,
  next: Policy,
  asOf: Date,
): Loss[] {
  return records.flatMap((record) => {
    const loss = classifyChange({
      identityId: record.employeeId,
      before: record,
      after: record,
      policy: next,
      previousPolicy: previous,
      asOf,
    });
    return loss ? [loss] : [];
  });
}

export interface RolloutOutcome {
  admission: Admission;
  /** Persons signalled to plan again now. */
  replanned: string[];
  /** Persons held for approval (their re-plan waits in mass-change-hold). */
  held: string[];
}

export async function rollOut(options: {
  client: Client;
  taskQueue: string;
  store: GuardStore;
  previous: Policy;
  next: Policy;
  /** Current records of the persons the plan changes. */
  changing: readonly IdentityRecord[];
  /** `plan-apply:cli:{user}` */
  origin: string;
  now?: () => Date;
}): Promise<RolloutOutcome> {
  const asOf = (options.now ?? (() => new Date()))();
  const losses = rolloutLosses(options.changing, options.previous, options.next, asOf);
  const admission = await admitLosses(
    { store: options.store, policy: options.next, now: () => asOf },
    options.origin,
    losses,
  );
  const losing = new Map(losses.map((l) => [l.identityId, l]));
  const heldIds = admission.admitted ? [] : [...losing.keys()];
  if (!admission.admitted) {
    await options.store.holdLosses(options.origin, losses);
    const active = await options.store.countActive(helsinkiDate(asOf));
    await inBatches(
      options.changing.filter((r) => losing.has(r.employeeId)),
      16,
      async (record) => {
        await holdChange(
          options.client,
          {
            identityId: record.employeeId,
            source: record.sources?.includes('hr') === false ? 'education' : 'hr',
            record,
            loss: losing.get(record.employeeId)!,
            ref: options.origin,
            activeIdentities: active,
            safety: options.next.safety,
            replan: true,
          },
          options.taskQueue,
        );
      },
    );
  }
  const now = options.changing.filter((r) => !heldIds.includes(r.employeeId));
  await inBatches(now, 32, (r) => askToReplan(options.client, r.employeeId, 'policy change'));
  return { admission, replanned: now.map((r) => r.employeeId), held: heldIds };
}
