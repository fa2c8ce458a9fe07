import type { HrRecord } from '../domain/record';
import type { HeldChange } from '../workflows/mass-change-hold';
import { initialState } from '../workflows/person';
import { personWorkflowId, type PersonState, type Source } from '../workflows/messages';
import type { PersonReading } from '../ops/persons';
import type { Intake } from './intake';

/**
 * An in-memory intake for tests and for benchmarking the HTTP layer alone: it records each
 * delivery and keeps a minimal state per person, with no Temporal behind it.
 */
export class MemoryIntake implements Intake {
  readonly deliveries: { record: HrRecord; source: Source }[] = [];
  readonly states = new Map<string, PersonState>();
  /** The held set, as the `mass-change-hold` workflow would keep it (identity id → change). */
  readonly held = new Map<string, HeldChange>();
  /** Set to make every call fail as if Temporal were down. */
  failWith: Error | undefined;

  async deliver(record: HrRecord, source: Source): Promise<string> {
    if (this.failWith) throw this.failWith;
    this.deliveries.push({ record, source });
    const state = this.states.get(record.employeeId) ?? initialState(record.employeeId);
    state.recordsReceived++;
    state.version++;
    state.source = source;
    // The record as the person workflow would hold it: the guard compares the next one with it.
    state.record = record;
    state.records = { ...state.records, hr: record };
    this.states.set(record.employeeId, state);
    return personWorkflowId(record.employeeId);
  }

  async personState(employeeId: string): Promise<PersonState | null> {
    if (this.failWith) throw this.failWith;
    return this.states.get(employeeId) ?? null;
  }

  async readPerson(employeeId: string): Promise<PersonReading> {
    const state = await this.personState(employeeId);
    return state ? { kind: 'state', state } : { kind: 'unknown' };
  }

  async hold(change: HeldChange): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.held.set(change.identityId, change);
  }

  async dropHeld(identityId: string): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.held.delete(identityId);
  }

  async check(): Promise<void> {
    if (this.failWith) throw this.failWith;
  }
}
