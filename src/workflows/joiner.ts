import type { HrRecord } from '../domain/record';
import { converge, type ProvisionResult } from './converge';

export interface ProvisionInput {
  employeeId: string;
  record: HrRecord;
}

/**
 * A new person: the account is created (disabled) preHireDays before the start date, gets the
 * role's groups, and is enabled on the start date. Durable timers; a newer record reschedules.
 */
export async function joinerWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  return converge(input.record);
}
