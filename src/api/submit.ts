import type { Policy } from '../domain/policy';
import type { HrRecord } from '../domain/record';
import type { GuardStore } from '../ops/guard';
import { createRecordDelivery, type DeliveryOutcome } from '../ops/intake';
import type { RecordIndex } from '../store/record-index';
import type { Source } from '../workflows/messages';
import type { Intake } from './intake';

// The API's side of the one intake use-case (src/ops/intake.ts): unchanged → answered at once;
// a change that takes access away passes the mass-change guard or waits in the held set.

export type SubmitOutcome = Pick<DeliveryOutcome, 'workflowId' | 'status' | 'reason'>;

export interface RecordSubmitter {
  /** `origin` names the operator: `api:{the token's client name}`. */
  submit(record: HrRecord, source: Source, origin?: string): Promise<SubmitOutcome>;
}

export function createRecordSubmitter(
  intake: Intake,
  index: RecordIndex & GuardStore,
  policy: Policy,
): RecordSubmitter {
  const delivery = createRecordDelivery({
    port: {
      deliver: (record, source) => intake.deliver(record as HrRecord, source),
      personState: (id) => intake.personState(id),
      hold: (change) => intake.hold(change),
      dropHeld: (id) => intake.dropHeld(id),
    },
    index,
    policy,
  });
  return {
    async submit(record, source, origin = 'api') {
      const { workflowId, status, reason } = await delivery.deliver(record, source, origin);
      return { workflowId, status, ...(reason ? { reason } : {}) };
    },
  };
}
