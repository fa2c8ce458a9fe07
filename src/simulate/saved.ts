import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';
import type { IdentityKeys } from '../crypto/identity-keys';
import { recordFingerprint } from '../domain/fingerprint';
import type { EducationRecord } from '../domain/education';
import type { HrRecord } from '../domain/record';
import { writePrivateFile } from '../store/private-files';
import { changes, type ObservedState, type PersonPlan, type PlanKind, type PlanSummary } from './model';

// Saved plans (`tunnus plan … --save plan.json`): the records (or the new policy), and for every
// person the fingerprint of the state the plan was computed on. `tunnus plan apply` re-plans and
// applies only if every person's state, record and steps are still the same.
// The file holds HR records: treat it like the HR snapshot it came from (written 0600, always).
// It carries an integrity check, an HMAC under a key derived from the key store's shared key: a
// plan edited after it was saved (records, steps, policy text) is refused by `plan apply`, which
// would otherwise deliver whatever the file says. Anyone who can read the key store could forge
// one; whoever can is already trusted to run Tunnus.

export const SAVED_PLAN_FORMAT = 'tunnus-plan/1';

export interface SavedPerson {
  employeeId: string;
  fingerprint: string;
  state: ObservedState;
  steps: string[];
  changes: boolean;
}

export interface SavedPlan {
  format: typeof SAVED_PLAN_FORMAT;
  kind: PlanKind;
  createdAt: string;
  asOf: string;
  taskQueue: string;
  /** The policy the plan was computed with; a policy plan carries the new policy's text. */
  policy: { sha256: string; file: string; text?: string; previousText?: string };
  /** The records planned (the snapshot, the one record, or the managed persons' current records). */
  records: HrRecord[];
  /** An education plan's rows, delivered as they are when the plan is applied. */
  education?: EducationRecord[];
  persons: SavedPerson[];
  summary: PlanSummary;
}

const savedSchema = z.object({
  format: z.literal(SAVED_PLAN_FORMAT),
  kind: z.enum(['record', 'hr', 'education', 'policy']),
  createdAt: z.string(),
  asOf: z.string(),
  taskQueue: z.string(),
  policy: z.object({
    sha256: z.string(),
    file: z.string(),
    text: z.string().optional(),
    /** A policy plan: the policy it replaces, for the rollout's mass-change guard. */
    previousText: z.string().optional(),
  }),
  // Not re-validated field by field: a policy plan holds the persons' merged records as their
  // workflows hold them (an education facet included), which the HR schema would refuse.
  records: z.array(
    z.custom<HrRecord>((v) => typeof (v as { employeeId?: unknown })?.employeeId === 'string'),
  ),
  education: z.array(z.custom<EducationRecord>((v) => typeof v === 'object' && v !== null)).optional(),
  persons: z.array(
    z.object({
      employeeId: z.string(),
      fingerprint: z.string(),
      state: z.custom<ObservedState>((v) => typeof v === 'object' && v !== null),
      steps: z.array(z.string()),
      changes: z.boolean(),
    }),
  ),
  summary: z.custom<PlanSummary>((v) => typeof v === 'object' && v !== null),
});

export function toSaved(
  base: Omit<SavedPlan, 'format' | 'persons' | 'createdAt'>,
  persons: PersonPlan[],
): SavedPlan {
  return {
    format: SAVED_PLAN_FORMAT,
    createdAt: new Date().toISOString(),
    ...base,
    persons: persons.map((p) => ({
      employeeId: p.employeeId,
      fingerprint: p.fingerprint,
      state: p.state,
      steps: p.steps,
      changes: changes(p),
    })),
  };
}

/** How a saved plan's integrity is checked: HMAC-SHA256 over the plan's JSON without this field. */
export interface PlanIntegrity {
  alg: 'HMAC-SHA256';
  /** The shared key the MAC key was derived from (keys rotate; old ids still verify). */
  keyId: string;
  mac: string;
}

/** The MAC key: derived, so the shared data key itself never signs anything but payloads. */
const macKey = (sharedKey: Buffer) =>
  createHmac('sha256', sharedKey).update('tunnus saved plan integrity v1').digest();
const macOf = (key: Buffer, plan: SavedPlan) =>
  createHmac('sha256', macKey(key)).update(JSON.stringify(plan)).digest('base64url');

/** Writes the plan 0600 (a file that existed with a wider mode is replaced), with its integrity check. */
export async function writeSavedPlan(file: string, plan: SavedPlan, keys: IdentityKeys): Promise<void> {
  const { keyId, key } = await keys.sharedKey();
  const integrity: PlanIntegrity = { alg: 'HMAC-SHA256', keyId, mac: macOf(key, plan) };
  writePrivateFile(file, `${JSON.stringify({ ...plan, integrity }, null, 2)}\n`);
}

/** Reads a saved plan; refuses one that is not a plan, has no integrity check, or fails it. */
export async function readSavedPlan(file: string, keys: IdentityKeys): Promise<SavedPlan> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file} as a saved plan: ${(err as Error).message}`);
  }
  const { integrity, ...body } = (raw ?? {}) as { integrity?: unknown };
  const parsed = savedSchema.safeParse(body);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`${file} is not a saved plan (${first?.path.join('.') || '(root)'}: ${first?.message})`);
  }
  const check = integritySchema.safeParse(integrity);
  if (!check.success) {
    throw new Error(`${file} has no integrity check (integrity): save the plan again with this version`);
  }
  let key: Buffer;
  try {
    key = await keys.keyById(check.data.keyId);
  } catch {
    throw new Error(
      `${file}: integrity key ${check.data.keyId} is not in this key store (saved by another installation?): nothing applied`,
    );
  }
  // Over the body as read (its own key order), which is the order it was written in.
  const expected = Buffer.from(macOf(key, body as SavedPlan));
  const given = Buffer.from(check.data.mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new Error(`${file} was changed after it was saved (integrity check failed): nothing applied`);
  }
  return parsed.data;
}

const integritySchema = z.object({
  alg: z.literal('HMAC-SHA256'),
  keyId: z.string().min(1),
  mac: z.string().min(1),
});

/** One person whose plan no longer holds, and what moved. */
export interface Drift {
  employeeId: string;
  what: string[];
}

/**
 * Compares a saved plan with a fresh plan of the same persons. Any difference in the state the
 * plan read, in the person's record, or in the steps (time passing can add an enable) is drift.
 */
export function findDrift(
  saved: SavedPlan,
  fresh: PersonPlan[],
  currentRecords: Map<string, HrRecord | null>,
): Drift[] {
  const byId = new Map(fresh.map((p) => [p.employeeId, p]));
  const savedRecords = new Map(saved.records.map((r) => [r.employeeId, r]));
  const drift: Drift[] = [];
  for (const s of saved.persons) {
    const what: string[] = [];
    const before = savedRecords.get(s.employeeId);
    const now = currentRecords.get(s.employeeId);
    if (now === null) what.push('no longer managed (no person workflow)');
    else if (before && now && recordFingerprint(before) !== recordFingerprint(now)) {
      what.push('HR record changed since the plan');
    }
    const p = byId.get(s.employeeId);
    if (!p) {
      if (now !== null) what.push('not planned again');
    } else {
      if (p.fingerprint !== s.fingerprint) what.push(...stateDiff(s.state, p.state));
      if (p.fingerprint !== s.fingerprint && what.length === 0) what.push('state changed');
      if (JSON.stringify(p.steps) !== JSON.stringify(s.steps)) {
        what.push(`steps now: ${p.steps.join('; ') || '(none)'}`);
      }
    }
    if (what.length > 0) drift.push({ employeeId: s.employeeId, what });
  }
  return drift;
}

const cn = (dn: string) => /^cn=([^,]+)/i.exec(dn)?.[1] ?? dn;

/** What differs between two observed states, in words (attribute and group names, no values). */
export function stateDiff(a: ObservedState, b: ObservedState): string[] {
  const out: string[] = [];
  if (!a.account && b.account) out.push('account created');
  else if (a.account && !b.account) out.push('account removed');
  else if (a.account && b.account) {
    if (a.account.ou.toLowerCase() !== b.account.ou.toLowerCase()) out.push('OU changed');
    if (a.account.enabled !== b.account.enabled) {
      out.push(b.account.enabled ? 'account enabled' : 'account disabled');
    }
    const keys = new Set([...Object.keys(a.account.attributes), ...Object.keys(b.account.attributes)]);
    for (const k of [...keys].sort()) {
      if ((a.account.attributes[k] ?? null) !== (b.account.attributes[k] ?? null)) out.push(`${k} changed`);
    }
    // DNs compare case-insensitively in AD.
    const ga = new Set(a.account.groups.map((g) => g.toLowerCase()));
    const gb = new Set(b.account.groups.map((g) => g.toLowerCase()));
    const added = b.account.groups.filter((g) => !ga.has(g.toLowerCase())).map(cn);
    const removed = a.account.groups.filter((g) => !gb.has(g.toLowerCase())).map(cn);
    if (added.length + removed.length > 0) {
      out.push(`groups ${[...added.map((g) => `+${g}`), ...removed.map((g) => `−${g}`)].join(' ')}`);
    }
  }
  if ((a.managerDn ?? null) !== (b.managerDn ?? null)) out.push("manager's account changed");
  if (a.cloud || b.cloud) {
    if (a.cloud?.exists !== b.cloud?.exists)
      out.push(b.cloud?.exists ? 'cloud user created' : 'cloud user gone');
    else {
      if (a.cloud?.usageLocation !== b.cloud?.usageLocation) out.push('usageLocation changed');
      if (JSON.stringify(a.cloud?.fields) !== JSON.stringify(b.cloud?.fields)) out.push('cloud user changed');
      if (JSON.stringify(a.cloud?.licences) !== JSON.stringify(b.cloud?.licences))
        out.push('licences changed');
    }
  }
  return out;
}

export function formatDrift(drift: Drift[]): string {
  return drift.map((d) => `  ${d.employeeId}: ${d.what.join('; ')}`).join('\n');
}
