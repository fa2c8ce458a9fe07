import type { Client } from '@temporalio/client';
import type { Intake } from '../api/intake';
import { TASK_QUEUE } from '../workflows/messages';
import { checkTemporal, withDeadline } from './connect';
import { dropHeldChange, holdChange } from './hold';
import { deliverRecord, personState, readPerson } from './persons';
import { IntakeUnavailableError, isUnavailable } from './unavailable';

// The intake port (src/api/intake.ts Intake, src/ops/intake.ts IntakePort) over Temporal: the
// person's signal-with-start, its state, the held set; each call within a deadline, so a busy or
// absent worker answers IntakeUnavailableError (503) instead of holding a request open.

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
  const within = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await withDeadline(client, timeoutMs, fn);
    } catch (err) {
      if (isUnavailable(err)) throw new IntakeUnavailableError(`Temporal ${what} failed`, { cause: err });
      throw err;
    }
  };
  return {
    deliver: (record, source) => within('signal', () => deliverRecord(client, record, source, taskQueue)),
    personState: (employeeId) => within('query', () => personState(client, employeeId)),
    readPerson: (employeeId) => within('query', () => readPerson(client, employeeId)),
    hold: (change) => within('signal', () => holdChange(client, change, taskQueue)),
    dropHeld: (identityId) => within('signal', () => dropHeldChange(client, identityId)),
    check: () => within('health check', () => checkTemporal(client)),
  };
}
