import type { IdentityRecord } from './identity';
import { entitlementsFor, type CredentialRule, type Policy } from './policy';

// The first-day credential handover, as pure rules: what a person gets (a Temporary Access Pass
// for a cloud identity, a one-time AD password otherwise), with which settings, and who receives
// it. The handover activity (src/activities/handover.ts) does the I/O; plans and docs read these.

export type CredentialKind = 'temporaryAccessPass' | 'initialPassword';
export type RecipientRule = CredentialRule['deliverTo'][number];

export interface HandoverPlan {
  kind: CredentialKind;
  temporaryAccessPass: CredentialRule['temporaryAccessPass'];
  initialPassword: CredentialRule['initialPassword'];
  /** Recipient rules in the order they are tried. */
  deliverTo: RecipientRule[];
  /** The role whose entry set deliverTo (or `default`), for explanations. */
  from: string;
}

/** The idempotence key: one handover per person and start date (a rehire has a new start date). */
export const handoverKey = (employeeId: string, startDate: string) => `handover:${employeeId}:${startDate}`;

/**
 * The handover for a record, or undefined when the policy turns handovers off. The first matching
 * role with a `credentials.roles` entry overrides the default field by field.
 */
export function handoverFor(policy: Policy, record: IdentityRecord): HandoverPlan | undefined {
  const c = policy.credentials;
  if (!c.enabled) return undefined;
  const ent = entitlementsFor(policy, record);
  const override = ent.roles.find((r) => c.roles[r] !== undefined);
  const rule = { ...c.default, ...(override ? c.roles[override] : {}) };
  return {
    kind: ent.cloud ? 'temporaryAccessPass' : 'initialPassword',
    temporaryAccessPass: rule.temporaryAccessPass,
    initialPassword: rule.initialPassword,
    deliverTo: [...rule.deliverTo],
    from: override ?? 'default',
  };
}

/** Contract A's recipient (src/domain/notice-recipients.ts), as far as the handover names them. */
export type CredentialRecipient =
  { manager: string; unit: string } | { school: string; unit: string } | { unit: string };

/**
 * Whom the credential (and the account-ready notice) goes to: the first rule of `deliverTo` that
 * applies to the record — the manager when it names one, the school contact for someone with a
 * school — else the unit's fallback mailbox. A manager or school contact that does not resolve to
 * an address falls back to the unit's mailbox too, and the message says why (the notice channel).
 */
export function credentialRecipient(
  deliverTo: readonly RecipientRule[],
  record: IdentityRecord,
): CredentialRecipient {
  const unit = record.orgUnit;
  for (const rule of deliverTo) {
    if (rule === 'manager' && record.managerId) return { manager: record.managerId, unit };
    if (rule === 'schoolContact' && record.education?.schoolCode) {
      return { school: record.education.schoolCode, unit };
    }
    if (rule === 'fallback') return { unit };
  }
  return { unit };
}

/** The message's language: the record's, else the policy's default (mail.defaultLanguage, fi). */
export const languageOf = (record: IdentityRecord, policy?: Policy): 'fi' | 'sv' | 'en' =>
  record.language ?? policy?.mail?.defaultLanguage ?? 'fi';

const CLASSES = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-=?@_'];

/**
 * A one-time password of the given length meeting AD complexity (one of each class). Unlike the
 * creation password it is meant to be read by a person: no 0/O, 1/l/I. `pick(n)` draws 0..n-1
 * (crypto.randomInt in the activity; tests may pass their own).
 */
export function oneTimePassword(length: number, pick: (n: number) => number): string {
  const chars = CLASSES.map((set) => set[pick(set.length)]!);
  const all = CLASSES.join('');
  while (chars.length < length) chars.push(all[pick(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = pick(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
