import type { HrRecord } from '../domain/record';
import type { PersonReading } from '../ops/persons';
import type { HeldChange } from '../workflows/mass-change-hold';
import type { PersonState, Source } from '../workflows/messages';

// What the HTTP routes need from the workflow side, as an interface: the Temporal implementation
// (src/ops/temporal-intake.ts) for the service, an in-memory one (./memory-intake.ts) for tests and
// for benchmarking the HTTP layer alone.

export interface Intake {
  /** Hands the record to the person's entity workflow (starting it if needed); its workflow id. */
  deliver(record: HrRecord, source: Source): Promise<string>;
  /** The person's state, or null when the person is unknown. */
  personState(employeeId: string): Promise<PersonState | null>;
  /** The same, telling a crypto-shredded person (deleted at the end of retention) from an unknown one. */
  readPerson(employeeId: string): Promise<PersonReading>;
  /** Puts a change the mass-change guard stopped into the held set (src/ops/intake.ts). */
  hold(change: HeldChange): Promise<void>;
  /** Takes a person's held change out of the held set. */
  dropHeld(identityId: string): Promise<void>;
  /** Throws when the workflow service cannot be reached (readiness). */
  check(): Promise<void>;
}
