import { helsinkiDate } from '../domain/dates';
import { mergeSources, type IdentityRecord, type RecordSource, type SourceRecord } from '../domain/identity';
import {
  guardVerdict,
  windowStart,
  type GuardVerdict,
  type Loss,
  type WindowLoss,
} from '../domain/mass-change';
import type { PersonState } from '../domain/person-state';
import type { Policy } from '../domain/policy';
import type { HrRecord } from '../domain/record';
import type { GuardLedger, LedgerEntry } from '../store/guard-ledger';
import type { RecordIndex } from '../store/record-index';

// The mass-change guard over the record store: every path (intake, import, plan apply, cleanup)
// asks here, so the window and the denominator are one. The rules are src/domain/mass-change.ts.

export type GuardStore = GuardLedger & Pick<RecordIndex, 'countActive'>;

export interface GuardDeps {
  store: GuardStore;
  policy: Policy;
  now?: () => Date;
}

/** The verdict, and whether the losses were admitted (written to the window). */
export type Admission = GuardVerdict & { admitted: boolean };

const toWindowLoss = (l: WindowLoss): WindowLoss => ({
  identityId: l.identityId,
  kind: l.kind,
  groups: l.groups,
});

/**
 * Admits the losses into the rolling window if the guard says ok, atomically with the check (two
 * intakes at once cannot both slip under the threshold); otherwise returns the verdict that asks
 * for approval and writes nothing. No losses: admitted at once.
 */
export async function admitLosses(deps: GuardDeps, ref: string, losses: readonly Loss[]): Promise<Admission> {
  const asOf = (deps.now ?? (() => new Date()))();
  const safety = deps.policy.safety;
  const active = await deps.store.countActive(helsinkiDate(asOf));
  const pending = losses.map(toWindowLoss);
  let verdict = guardVerdict({ activeIdentities: active, window: [], pending, safety });
  if (losses.length === 0) return { ...verdict, admitted: true };
  const admitted = await deps.store.admitLosses(
    { ref, losses: pending, since: windowStart(asOf, safety.windowHours) },
    (window) => {
      verdict = guardVerdict({ activeIdentities: active, window, pending, safety });
      return verdict.verdict === 'ok';
    },
  );
  return { ...verdict, admitted };
}

/** The same losses as approved by the operator: written as approved (not counted again). */
export async function admitApproved(
  deps: GuardDeps,
  ref: string,
  losses: readonly Loss[],
  approvedBy: string,
): Promise<void> {
  if (losses.length === 0) return;
  await deps.store.admitLosses(
    { ref, losses: losses.map(toWindowLoss), since: new Date(0).toISOString(), approvedBy },
    () => true,
  );
}

/** What the guard sees now: for `GET /api/v1/mass-change` and `tunnus guard` (held set, window). */
export interface GuardStatus {
  asOf: string;
  activeIdentities: number;
  windowHours: number;
  thresholdPercent: number;
  groupThresholds: Policy['safety']['groupThresholds'];
  /** Identities whose losses were admitted in the window (each once). */
  inWindow: number;
  /** The window's verdict with nothing more pending: its percentage so far. */
  percent: number;
  /** Changes that wait for approval in the held set (src/workflows/mass-change-hold.ts). */
  held: Pick<LedgerEntry, 'identityId' | 'kind' | 'groups' | 'ref' | 'at'>[];
}

export async function guardStatus(deps: GuardDeps): Promise<GuardStatus> {
  const asOf = (deps.now ?? (() => new Date()))();
  const safety = deps.policy.safety;
  const [active, window, held] = await Promise.all([
    deps.store.countActive(helsinkiDate(asOf)),
    deps.store.windowLosses(windowStart(asOf, safety.windowHours)),
    deps.store.heldLosses(),
  ]);
  const v = guardVerdict({ activeIdentities: active, window, pending: [], safety });
  return {
    asOf: asOf.toISOString(),
    activeIdentities: active,
    windowHours: safety.windowHours,
    thresholdPercent: safety.massChangeThresholdPercent,
    groupThresholds: safety.groupThresholds,
    inWindow: v.affected,
    percent: v.percent,
    held: held.map((h) => ({
      identityId: h.identityId,
      kind: h.kind,
      groups: h.groups,
      ref: h.ref,
      at: h.at,
    })),
  };
}

/**
 * The record the identity would plan with once this source's record is delivered: merged with what
 * the person workflow holds from the other source, as the workflow merges (mergeSources).
 */
export function recordAfter(
  source: RecordSource,
  state: PersonState | null,
  record: SourceRecord,
): IdentityRecord | undefined {
  const held = state?.records ?? (state?.record ? { hr: hrOnly(state.record) } : {});
  return mergeSources({ ...held, [source]: record });
}

/** A record held before the education source (state without `records`): the HR record itself. */
export function hrOnly(record: IdentityRecord): HrRecord {
  const { education: _education, sources: _sources, ...hr } = record;
  return hr;
}
