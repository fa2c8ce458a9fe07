import type { HrRecord } from '../domain/record';
import { initialState } from '../workflows/person';
import { personWorkflowId, type PersonState, type Source } from '../workflows/messages';
import type { Intake } from './intake';

/**
 * An in-memory intake for tests and for benchmarking the HTTP layer alone: it records each
 * delivery and keeps a minimal state per person, with no Temporal behind it.
 */
export class MemoryIntake implements Intake {
  readonly deliveries: { record: HrRecord; source: Source }[] = [];
  readonly states = new Map<string, PersonState>();
  /** Set to make every call fail as if Temporal were down. */
  failWith: Error | undefined;

  async deliver(record: HrRecord, source: Source): Promise<string> {
    if (this.failWith) throw this.failWith;
    this.deliveries.push({ record, source });
    const state = this.states.get(record.employeeId) ?? initialState(record.employeeId);
    state.recordsReceived++;
    state.version++;
    state.source = source;
    this.states.set(record.employeeId, state);
    return personWorkflowId(record.employeeId);
  }

  async personState(employeeId: string): Promise<PersonState | null> {
    if (this.failWith) throw this.failWith;
    return this.states.get(employeeId) ?? null;
  }

  async check(): Promise<void> {
    if (this.failWith) throw this.failWith;
  }
}
