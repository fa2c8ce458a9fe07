import type { Finding } from './cleanup-report';
import type { Policy } from './policy';

// The mass-change guard's verdict. A truncated HR export, a wrong job-code mapping or a bad policy
// must not switch off half the city overnight, whatever path the change comes by (PUT, CLI,
// import, plan apply, policy rollout, cleanup). Every path classifies its changes as losses of
// access (src/domain/access-loss.ts classifyChange) and asks the same verdict here, over a rolling
// window, against the ACTIVE identities. Pure and free of the policy code (types only), so that
// workflows can call it; the window's ledger lives in the record store (src/store/guard-ledger.ts).

/** disable: access ends within the window; delete: the account goes; roleChange: groups or licences go. */
export type LossKind = 'disable' | 'delete' | 'roleChange';

export interface Loss {
  identityId: string;
  kind: LossKind;
  /** Managed groups the person loses (all they held for a disable or delete). */
  groups: string[];
  /** Managed licence SKUs the person loses. */
  skus: string[];
}

/** The start of the rolling window that ends now: losses admitted since then count. */
export function windowStart(asOf: Date, windowHours: number): string {
  return new Date(asOf.getTime() - windowHours * 3_600_000).toISOString();
}

/** A loss as the window's ledger keeps it (no SKUs: the thresholds count identities and groups). */
export type WindowLoss = Pick<Loss, 'identityId' | 'kind' | 'groups'>;

export interface GuardInput {
  /** Active identities now (isActiveIdentity): the denominator. */
  activeIdentities: number;
  /** Losses already admitted in the rolling window (approved ones are not counted again). */
  window: readonly WindowLoss[];
  /** The losses asking to be admitted now. */
  pending: readonly WindowLoss[];
  safety: Policy['safety'];
}

export interface GroupCount {
  groups: string;
  thresholdPercent: number;
  /** Identities losing a matching group, window and pending together. */
  affected: number;
  over: boolean;
}

export interface GuardVerdictBase {
  /** Identities losing access, window and pending together (each counted once). */
  affected: number;
  /** Of them, asking now. */
  pendingIdentities: number;
  /** Admitted earlier in the window. */
  inWindow: number;
  /** Pending losses by kind. */
  disables: number;
  deletes: number;
  roleChanges: number;
  /** The denominator: active identities (named so for the API's import progress schema). */
  managedIdentities: number;
  percent: number;
  thresholdPercent: number;
  windowHours: number;
  groupCounts: GroupCount[];
  /** Binds an approval to exactly these identities and kinds (lossSetHash). */
  setHash: string;
}

export type GuardVerdict =
  ({ verdict: 'ok' } & GuardVerdictBase) | ({ verdict: 'needsApproval'; reason: string } & GuardVerdictBase);

// Compared exactly, not on the rounded figure: 5.04 % is over a 5 % threshold. A threshold of 100
// switches the guard off (even against no active identities, where anything is 100 %).
const over = (affected: number, threshold: number, active: number) =>
  threshold < 100 && affected > 0 && affected * 100 > threshold * Math.max(active, 0);

const percentOf = (affected: number, active: number) =>
  affected === 0 ? 0 : active === 0 ? 100 : Math.round((affected / active) * 1000) / 10;

/** `ERP-*` → /^ERP-.*$/i (group names compare case-insensitively in AD). */
export function groupPattern(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'i');
}

/**
 * ok when the identities losing access in the window, with those asking now, are at most the
 * threshold share of the active identities, and likewise for each group threshold. Nothing
 * pending is always ok.
 */
export function guardVerdict(input: GuardInput): GuardVerdict {
  const { activeIdentities: active, safety } = input;
  const pendingIds = new Set(input.pending.map((l) => l.identityId));
  const all = new Map<string, WindowLoss[]>();
  for (const l of [...input.window, ...input.pending])
    all.set(l.identityId, [...(all.get(l.identityId) ?? []), l]);
  const affected = all.size;
  const kinds = { disable: 0, delete: 0, roleChange: 0 };
  for (const l of input.pending) kinds[l.kind]++;
  const groupCounts = safety.groupThresholds.map((t): GroupCount => {
    const re = groupPattern(t.groups);
    const hit = (l: WindowLoss) => l.groups.some((g) => re.test(g));
    const n = [...all.values()].filter((ls) => ls.some(hit)).length;
    const pendingHit = input.pending.some(hit);
    return {
      groups: t.groups,
      thresholdPercent: t.thresholdPercent,
      affected: n,
      over: pendingHit && over(n, t.thresholdPercent, active),
    };
  });
  const base: GuardVerdictBase = {
    affected,
    pendingIdentities: pendingIds.size,
    inWindow: [...all.keys()].filter((id) => !pendingIds.has(id)).length,
    disables: kinds.disable,
    deletes: kinds.delete,
    roleChanges: kinds.roleChange,
    managedIdentities: active,
    percent: percentOf(affected, active),
    thresholdPercent: safety.massChangeThresholdPercent,
    windowHours: safety.windowHours,
    groupCounts,
    setHash: lossSetHash(input.pending),
  };
  const overall = pendingIds.size > 0 && over(affected, safety.massChangeThresholdPercent, active);
  if (!overall && !groupCounts.some((g) => g.over)) return { verdict: 'ok', ...base };
  return { verdict: 'needsApproval', reason: describeVerdict(base), ...base };
}

/**
 * "would take access from 180 of 1000 active identities in 24 h (18 %, threshold 5 %): 180 disables,
 * 0 deletes, 0 role changes; ERP-* 12 (threshold 1 %)"
 */
export function describeVerdict(v: GuardVerdictBase): string {
  const groups = v.groupCounts
    .filter((g) => g.over)
    .map(
      (g) =>
        `; ${g.groups} ${g.affected} (${percentOf(g.affected, v.managedIdentities)} %, threshold ${g.thresholdPercent} %)`,
    )
    .join('');
  const earlier = v.inWindow > 0 ? ` (${v.inWindow} of them earlier in the window)` : '';
  return (
    `would take access from ${v.affected} of ${v.managedIdentities} active identities within ` +
    `${v.windowHours} h${earlier} (${v.percent} %, threshold ${v.thresholdPercent} %): ` +
    `${v.disables} disables, ${v.deletes} deletes, ${v.roleChanges} role changes${groups}`
  );
}

/**
 * A hash of the sorted identity ids and change kinds: what an approval is bound to. Pure (no
 * node:crypto) because workflows compute it for the held set; 64 bits from two 32-bit FNV-1a
 * lanes, enough to tell one set from another, not meant to resist a forger.
 */
export function lossSetHash(losses: readonly Pick<Loss, 'identityId' | 'kind'>[]): string {
  const keys = [...new Set(losses.map((l) => `${l.identityId}:${l.kind}`))].sort();
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ keys.length;
  for (const key of keys) {
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    a = Math.imul(a ^ 10, 0x01000193);
    b = Math.imul(b ^ 10, 0x5bd1e995);
  }
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
  return `${keys.length}-${hex(a)}${hex(b)}`;
}

/**
 * The legacy preview figure `tunnus plan` prints (disables and deletes of a plan over the managed
 * count); the runs decide with guardVerdict above.
 */
export function previewVerdict(change: {
  managedIdentities: number;
  disables: number;
  deletes: number;
  thresholdPercent: number;
}): { verdict: 'ok' | 'needsApproval'; percent: number } {
  const affected = change.disables + change.deletes;
  return {
    verdict: over(affected, change.thresholdPercent, change.managedIdentities) ? 'needsApproval' : 'ok',
    percent: percentOf(affected, change.managedIdentities),
  };
}

/**
 * The losses of access a cleanup's fixes would cause: an orphan account disabled, an account
 * deleted after retention, a managed group membership no rule grants removed. Licences taken back
 * from leavers and expired name reservations take no one's access.
 */
export function cleanupLosses(findings: readonly Finding[]): Loss[] {
  const byId = new Map<string, Loss>();
  const rank: Record<LossKind, number> = { roleChange: 0, disable: 1, delete: 2 };
  for (const f of findings) {
    const kind: LossKind | undefined =
      f.kind === 'pastRetention'
        ? 'delete'
        : f.kind === 'orphanAccount'
          ? 'disable'
          : f.kind === 'ungrantedMember'
            ? 'roleChange'
            : undefined;
    if (!kind || f.kind === 'licenceOnLeaver' || f.kind === 'expiredReservation') continue;
    // Accounts without an employeeID count once each: by their pseudonym (a sealed report's
    // DN differs every run), by DN in reports collected before sealing.
    const id = f.employeeId ?? ('ref' in f && f.ref ? `ref:${f.ref}` : `dn:${'dn' in f ? f.dn : f.account}`);
    const loss = byId.get(id) ?? { identityId: id, kind, groups: [], skus: [] };
    if (rank[kind] > rank[loss.kind]) loss.kind = kind;
    if (f.kind === 'ungrantedMember' && !loss.groups.includes(f.group)) loss.groups.push(f.group);
    byId.set(id, loss);
  }
  return [...byId.values()];
}

/**
 * A verdict from counts alone, for runs recorded before the guard classified losses (their
 * histories replay with it): disables and deletes over the managed count, as the guard was then.
 */
export function countsVerdict(c: {
  managedIdentities: number;
  disables: number;
  deletes: number;
  thresholdPercent: number;
}): GuardVerdict {
  const affected = c.disables + c.deletes;
  const base: GuardVerdictBase = {
    affected,
    pendingIdentities: affected,
    inWindow: 0,
    disables: c.disables,
    deletes: c.deletes,
    roleChanges: 0,
    managedIdentities: c.managedIdentities,
    percent: percentOf(affected, c.managedIdentities),
    thresholdPercent: c.thresholdPercent,
    windowHours: 0,
    groupCounts: [],
    setHash: `counts-${c.disables}-${c.deletes}`,
  };
  if (!over(affected, c.thresholdPercent, c.managedIdentities)) return { verdict: 'ok', ...base };
  return { verdict: 'needsApproval', reason: describeVerdict(base), ...base };
}
