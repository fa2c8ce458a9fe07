import { converge, type ProvisionResult } from './converge';
import type { ProvisionInput } from './joiner';

/**
 * A changed record for a person who already has an account: the plan adds what the new role
 * grants and removes what the old one granted (managed groups only), moves the OU, updates
 * attributes. Names never change here.
 */
export async function moverWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  return converge(input);
}
