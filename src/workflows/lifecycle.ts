import { converge, type ProvisionResult } from './converge';
import type { ProvisionInput } from './joiner';

// The dated runs of a person's lifecycle. Each re-plans with the record as of now, so the same
// planning code decides what a leaver or a deletion does, and a retry changes nothing twice.

/**
 * The last working day is over. Step one: the AD account disabled and the cloud sign-in blocked
 * (sessions revoked), side by side and before anything that can fail. Step two: the account moved
 * to the disabled OU, every managed group removed, the cloud user hidden from the address list,
 * its licences returned to the pool, the phone catalogue entry removed. A failed step two leaves
 * a disabled account, and the person retries it (src/domain/person-state.ts).
 */
export async function leaverWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  return converge(input);
}

/**
 * Retention (counted from the actual disable) is over: the AD account and the cloud user are
 * deleted; the names stay reserved. The plan refuses to delete an account that is enabled.
 */
export async function deleteWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  return converge(input);
}

/** The same person returns within retention: the same account, re-enabled with the new role. */
export async function rehireWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  return converge(input);
}
