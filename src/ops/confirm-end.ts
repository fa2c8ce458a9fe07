import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { confirmEndDateUpdate, personWorkflowId } from '../workflows/messages';

// An operator confirms an end date the person workflow holds because it lies further in the past
// than lifecycle.lateEndDateMaxDays (more often a year typo than a late entry): the leaver then
// runs. One use-case for the CLI (and the API, when it gets the route); the operator is an id
// (`cli:{user}`, `api:{client}`), recorded in the person's history.

export type ConfirmEndOutcome =
  { ok: true; reason: string } | { ok: false; reason: 'not_found' | 'refused'; message: string };

export async function confirmHeldEndDate(
  client: Client,
  employeeId: string,
  endDate: string,
  operator: string,
): Promise<ConfirmEndOutcome> {
  const handle = client.workflow.getHandle(personWorkflowId(employeeId));
  try {
    const answer = await handle.executeUpdate(confirmEndDateUpdate, { args: [{ endDate, operator }] });
    return answer.confirmed
      ? { ok: true, reason: answer.reason }
      : { ok: false, reason: 'refused', message: answer.reason };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      return { ok: false, reason: 'not_found', message: `no person ${employeeId}` };
    }
    throw err;
  }
}
