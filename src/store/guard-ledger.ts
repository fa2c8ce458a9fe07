import type { LossKind, WindowLoss } from '../domain/mass-change';

// The mass-change guard's window, kept durably in the record store that every intake path (API,
// CLI, import and cleanup activities) already shares. Why here and not in a guard entity workflow:
// the check must be atomic with admitting (two intakes at once must not both squeeze under the
// threshold), a database transaction gives that without routing every PUT through one workflow's
// signal queue, and the held set and window are then readable by the API without a worker.
// Rows hold identity ids, change kinds and group names — no names or records.

/**
 * admitted: counted in the window. approved: an operator approved it (not counted again: the
 * approval covered it). held: waits in the held set for approval (src/workflows/mass-change-hold.ts).
 */
export type LedgerStatus = 'admitted' | 'approved' | 'held';

export interface LedgerEntry extends WindowLoss {
  /** What brought the loss: `api`, `cli`, an import or cleanup workflow id, `plan-apply`. */
  ref: string;
  status: LedgerStatus;
  /** ISO instant of admission, approval or hold. */
  at: string;
  approvedBy?: string;
}

export interface AdmitRequest {
  ref: string;
  losses: readonly WindowLoss[];
  /** Start of the rolling window: admitted losses since then are what `decide` sees. */
  since: string;
  /** When given, the losses were approved by this operator: written as approved, no decision. */
  approvedBy?: string;
}

export interface GuardLedger {
  /**
   * Atomically: reads the losses admitted since `since` and asks `decide`; when it says yes (or the
   * request carries an approval) the losses are written. Two intakes at once are serialised, so
   * they cannot both pass under the threshold. Returns whether they were admitted.
   */
  admitLosses(request: AdmitRequest, decide: (window: WindowLoss[]) => boolean): Promise<boolean>;
  /** Losses admitted (not approved, not held) since the instant: the window. */
  windowLosses(since: string): Promise<LedgerEntry[]>;
  /** Puts losses in the held set; an identity already held keeps one row (the latest). */
  holdLosses(ref: string, losses: readonly WindowLoss[]): Promise<void>;
  /** Held rows, for the given identities or all. */
  heldLosses(identityIds?: readonly string[]): Promise<LedgerEntry[]>;
  /** Held → approved by the operator (released from the held set). */
  releaseHeld(identityIds: readonly string[], approvedBy: string): Promise<void>;
}

/** Rows older than this are pruned on admission: far beyond any window. */
export const LEDGER_KEEP_DAYS = 31;

export const isLossKind = (k: string): k is LossKind =>
  k === 'disable' || k === 'delete' || k === 'roleChange';

/** A ledger row as both stores keep it (snake_case columns, groups as JSON). */
export interface LedgerRow {
  ref: string;
  identity_id: string;
  kind: LedgerEntry['kind'];
  groups: string;
  status: LedgerStatus;
  at: string;
  approved_by: string | null;
}

/** One row of either store as the ledger entry the guard reads. */
export const toLedgerEntry = (row: LedgerRow): LedgerEntry => ({
  ref: row.ref,
  identityId: row.identity_id,
  kind: row.kind,
  groups: JSON.parse(row.groups) as string[],
  status: row.status,
  at: row.at,
  ...(row.approved_by !== null ? { approvedBy: row.approved_by } : {}),
});
