import { hasNewRecord, type PersonState } from './person-state';

// When the person workflow hands over to crypto-shredding (src/workflows/shred.ts) and closes:
// the retention delete completed — the account is gone, nothing is held or retried — and no
// record arrived meanwhile (a rehire during the delete plans a joiner instead; that person lives).

export function shredDue(state: PersonState): boolean {
  return (
    state.phase === 'deleted' &&
    state.account === undefined &&
    state.retry === undefined &&
    state.hold === undefined &&
    !hasNewRecord(state)
  );
}

/** The shred workflow's id: not a run id the codec attributes to the person (its key is destroyed). */
export const shredWorkflowId = (employeeId: string) => `shred-${employeeId}`;
