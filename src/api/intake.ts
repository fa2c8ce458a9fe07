import type { Client } from '@temporalio/client';
import { deliverRecord, personState, readPerson, type PersonReading } from '../client';
import type { HrRecord } from '../domain/record';
import { dropHeldChange, holdChange } from '../ops/hold';
import type { HeldChange } from '../workflows/mass-change-hold';
import { TASK_QUEUE, type PersonState, type Source } from '../workflows/messages';

// What the HTTP routes need from the workflow side, as an interface: the Temporal implementation
// below for the service, an in-memory one for tests and for benchmarking the HTTP layer alone.

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

/** The intake could not reach the workflow service in time: worth retrying later (503). */
export class IntakeUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IntakeUnavailableError';
  }
}

export interface TemporalIntakeOptions {
  client: Client;
  taskQueue?: string;
  /** Deadline for one call to Temporal; a query needs a worker, which may be busy or absent. */
  timeoutMs?: number;
}

export function createTemporalIntake({
  client,
  taskQueue = TASK_QUEUE,
  timeoutMs = 5_000,
}: TemporalIntakeOptions): Intake {
  const withDeadline = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await client.connection.withDeadline(Date.now() + timeoutMs, fn);
    } catch (err) {
      if (isUnavailable(err)) throw new IntakeUnavailableError(`Temporal ${what} failed`, { cause: err });
      throw err;
    }
  };
  return {
    deliver: (record, source) =>
      withDeadline('signal', () => deliverRecord(client, record, source, taskQueue)),
    personState: (employeeId) => withDeadline('query', () => personState(client, employeeId)),
    readPerson: (employeeId) => withDeadline('query', () => readPerson(client, employeeId)),
    hold: (change) => withDeadline('signal', () => holdChange(client, change, taskQueue)),
    dropHeld: (identityId) => withDeadline('signal', () => dropHeldChange(client, identityId)),
    async check() {
      await withDeadline('health check', () => client.workflowService.getSystemInfo({}));
    },
  };
}

// gRPC codes: 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE. The SDK wraps them in
// ServiceError/QueryNotRegisteredError etc. with the gRPC error as cause.
function isUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 4 || code === 8 || code === 14) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
