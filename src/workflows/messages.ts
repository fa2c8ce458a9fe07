import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { IdentityRecord } from '../domain/identity';
import { canonicalIdentityKey } from '../domain/identity-key';
import type {
  EndDateConfirmation,
  PersonState,
  RecordDelivery,
  RunFacts,
  SubmitResult,
} from '../domain/person-state';
import type {
  OperatorRequest,
  OpsActionResult,
  TerminateRequest,
  TerminateResult,
} from '../domain/termination';

// Signals, queries and updates, with the types they carry. Shared by workflows and clients.

// The person's state and the types it carries live with its pure transitions.
export type {
  CloudExport,
  LifecycleStage,
  PersonState,
  RecordDelivery,
  RunKind,
  RunRef,
  Source,
  SubmitResult,
  TimelineEntry,
} from '../domain/person-state';

export interface ProvisionStatus {
  phase: 'planning' | 'applying' | 'waiting' | 'done';
  detail: string;
  waitingUntil?: string;
  lastSteps: string[];
}

/** An HR (or education) record for the person: de-duplicated, then planned and applied. */
export const recordSignal = defineSignal<[RecordDelivery]>('record');
/** Same as the signal, but answers whether the record was new, changed or a duplicate. */
export const submitRecordUpdate = defineUpdate<SubmitResult, [RecordDelivery]>('submitRecord');
export const stateQuery = defineQuery<PersonState>('state');
/**
 * Plan the person again with the record already held (same record, so it is no duplicate): after
 * a policy rollout, `tunnus plan apply` signals the persons a policy plan changes.
 */
export const replanSignal = defineSignal<[{ reason: string }]>('replan');

/**
 * An operator confirms an end date held because it lies further in the past than
 * `lifecycle.lateEndDateMaxDays` (state `hold`, stage `held`): the leaver then runs. Recorded in
 * history with the operator's id: `tunnus person confirm-end E1001 2016-03-31` (src/ops/confirm-end.ts).
 */
export const confirmEndDateUpdate = defineUpdate<
  { confirmed: boolean; reason: string },
  [EndDateConfirmation]
>('confirmEndDate');

/**
 * Operator actions (src/ops/terminate.ts; `tunnus terminate`, `tunnus retry`, the API's
 * /termination and /retry with scope ops:write), validated by the workflow, answered with the
 * result, recorded in history and the timeline with the operator (src/domain/termination.ts).
 * terminate: access ends now, disable first, whatever HR says, until lifted.
 */
export const terminateUpdate = defineUpdate<TerminateResult, [TerminateRequest]>('terminate');
/** The termination goes; the person is planned again from the records by policy. */
export const liftTerminationUpdate = defineUpdate<OpsActionResult, [OperatorRequest]>('liftTermination');
/** A failed or held run, or an end of access waiting for its backoff, runs again now. */
export const retryRunUpdate = defineUpdate<OpsActionResult, [OperatorRequest]>('retryRun');

/**
 * The held set (`mass-change-hold`) with this person's end falling due was approved: the leaver
 * runs (state `hold` of kind massChange, stage `held`, until then). Sent by releaseHeldChanges.
 */
export const guardReleasedSignal = defineSignal<[{ endDate: string; approvedBy: string }]>('guardReleased');

/**
 * Parent → running child: a newer record arrived; re-plan with it. The facts carry its version,
 * which the run reports back as `appliedVersion` once it has planned and applied it.
 */
export const recordChangedSignal = defineSignal<[IdentityRecord, RunFacts?]>('recordChanged');
export const provisionStatusQuery = defineQuery<ProvisionStatus>('status');

// Search attributes: business keys only, never names or other personal data.
export const EmployeeIdKey = defineSearchAttributeKey('EmployeeId', 'KEYWORD');
export const LifecycleStageKey = defineSearchAttributeKey('LifecycleStage', 'KEYWORD');
export const OrgUnitKey = defineSearchAttributeKey('OrgUnit', 'KEYWORD');
export const SourceKey = defineSearchAttributeKey('Source', 'KEYWORD');

export const searchAttributeDefinitions = {
  EmployeeId: 'Keyword',
  LifecycleStage: 'Keyword',
  OrgUnit: 'Keyword',
  Source: 'Keyword',
} as const;

export const TASK_QUEUE = 'tunnus';
/** `person-{key}`: the canonical identity key, so `e1001` and `E1001` are one workflow. */
export const personWorkflowId = (employeeId: string) => `person-${canonicalIdentityKey(employeeId)}`;
