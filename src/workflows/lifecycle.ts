import { converge, type ProvisionResult } from './converge';
import type { ProvisionInput } from './joiner';

// The dated runs of a person's lifecycle. Each re-plans with the record as of now, so the same
// planning code decides what a leaver or a deletion does, and a retry changes nothing twice.

/**
 * The last working day is over: the account is disabled and moved to the disabled OU, every
 * managed group removed; the cloud user's sessions revoked, sign-in blocked, licences returned to
 * the pool; the person leaves the address list and the phone catalogue.
 */
export async function leaverWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  return converge(input.record);
}

/** Retention is over: the AD account and the cloud user are deleted; the names stay reserved. */
export async function deleteWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  return converge(input.record);
}

/** The same person returns within retention: the same account, re-enabled with the new role. */
export async function rehireWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  return converge(input.record);
}
