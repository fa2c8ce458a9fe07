import type { Plan } from './plan';

// Where a joiner's run takes place (issue 12, `joiner-here`). A child workflow per run costs the
// server a second execution, three more workflow tasks and their visibility writes, which on one
// small machine was a third of the CPU a joiner took. So a joiner whose first plan can be applied
// at once runs inside its person workflow: plan and directory steps there as local activities,
// one marker each with the step's summary. Whatever has to wait — a date, a hold for an operator,
// the cloud (directory sync, seats, mailbox), a directory that refuses a step's quick attempts —
// goes on in a child run of its own, visible in `tunnus runs` and the Web UI as before.

/** Whether a joiner's planned pass can finish in the person's workflow task, without waiting. */
export function passFitsInPerson(plan: Pick<Plan, 'phase' | 'hold' | 'changeAt' | 'services'>): boolean {
  return plan.phase === 'active' && !plan.hold && !plan.changeAt && !plan.services.cloud;
}
