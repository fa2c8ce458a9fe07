import type { HrRecord } from '../domain/record';
import { indexFingerprint, type RecordIndex } from '../store/record-index';
import { personWorkflowId, type Source } from '../workflows/messages';
import type { Intake } from './intake';

// The intake decision for one record: unchanged (the index holds its hash) → answer at once,
// nothing reaches Temporal; otherwise signal the person workflow, then remember the hash.

export interface SubmitOutcome {
  workflowId: string;
  status: 'unchanged' | 'accepted';
}

export interface RecordSubmitter {
  submit(record: HrRecord, source: Source): Promise<SubmitOutcome>;
}

export function createRecordSubmitter(intake: Intake, index: RecordIndex): RecordSubmitter {
  const inFlight = new Map<string, Promise<unknown>>();

  // Requests for the same person run one after another in this process. Without that, records A
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
    submit(record, source) {
      return serialised(record.employeeId, async () => {
        const fingerprint = indexFingerprint(record);
        const known = await index.get(record.employeeId);
        if (known?.fingerprint === fingerprint) {
          return { workflowId: personWorkflowId(record.employeeId), status: 'unchanged' };
        }
        const workflowId = await intake.deliver(record, source);
        // Only after the workflow has the record: a failed delivery must not mark it as known.
        await index.put(record.employeeId, fingerprint, source);
        return { workflowId, status: 'accepted' };
      });
    },
  };
}
