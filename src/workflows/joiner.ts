import { converge, type ProvisionInput, type ProvisionResult } from './converge';

export type { ProvisionInput } from './converge';

/**
 * A new person: the account is created (disabled) preHireDays before the start date, gets the
 * role's groups, and is enabled on the start date. Durable timers; a newer record reschedules.
 */
export async function joinerWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  return converge(input);
}
