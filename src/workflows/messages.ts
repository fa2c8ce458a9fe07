import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AccountRef } from '../activities/directory';
import type { Phase, Schedule } from '../domain/plan';
import type { EducationRecord } from '../domain/education';
import type { IdentityRecord, RecordSource, SourceRecords } from '../domain/identity';
import type { HrRecord } from '../domain/record';

// Signals, queries and updates, with the types they carry. Shared by workflows and clients.

export type Source = RecordSource;

/** A validated record from one source: an HrRecord from hr, an EducationRecord from education. */
export interface RecordDelivery {
  record: HrRecord | EducationRecord;
  source: Source;
}

/** Whether the person is exported to the cloud, and the policy's reason, from the last run's plan. */
export interface CloudExport {
  exported: boolean;
  reason: string;
}

export interface SubmitResult {
  accepted: boolean;
  /** 'duplicate' when the record equals the last accepted one (nothing new starts). */
  reason: 'changed' | 'new' | 'duplicate';
}

export type LifecycleStage =
  'received' | 'joining' | 'active' | 'updating' | 'leaving' | 'left' | 'deleting' | 'deleted' | 'failed';

/** The child workflows a person runs; each is also the LifecycleStage search attribute of its run. */
export type RunKind = 'joiner' | 'mover' | 'rehire' | 'leaver' | 'delete';

export interface TimelineEntry {
  at: string;
  event: string;
  detail?: string;
}

export interface RunRef {
  workflowId: string;
  kind: RunKind;
  startedAt: string;
  endedAt?: string;
  outcome?: 'completed' | 'failed';
}

export interface PersonState {
  employeeId: string;
  stage: LifecycleStage;
  /** The source of the last accepted record. */
  source?: Source;
  /**
   * The record planning uses: merged from `records` (src/domain/identity.ts mergeSources); for
   * HR-only people exactly the HR record. Absent until the sources make a person (a staff
   * education row waits for the HR record).
   */
  record?: IdentityRecord;
  /** The latest record of each source. Absent in state carried from before the education source. */
  records?: SourceRecords;
  /** Fingerprint of each source's last accepted record, for de-duplication per source. */
  fingerprints?: Partial<Record<Source, string>>;
  /** Fingerprint of the last accepted record (any source); kept for state carried across versions. */
  fingerprint?: string;
  /** Cloud export status from the last completed run's plan. */
  cloud?: CloudExport;
  /** Incremented per accepted record; runs catch up to it. */
  version: number;
  recordsReceived: number;
  duplicatesIgnored: number;
  account?: AccountRef;
  /** From the last completed run: where the person stands and the dates that move them on. */
  phase?: Phase;
  schedule?: Schedule;
  /** A dated run (leaver/delete) that failed is not retried by the timer; a new record or ops must. */
  failedDueAt?: string;
  /** What the running child is doing right now (e.g. "waiting for start date 2027-01-07"). */
  status?: string;
  lastError?: { type: string; message: string; at: string };
  runs: RunRef[];
  timeline: TimelineEntry[];
  runSeq: number;
}

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

/** Parent → running joiner/mover: a newer record arrived; re-plan with it. */
export const recordChangedSignal = defineSignal<[IdentityRecord]>('recordChanged');
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
export const personWorkflowId = (employeeId: string) => `person-${employeeId}`;
