import { z } from 'zod';
import type { NoticeLanguage } from './notices';
import type { Policy } from './policy';

// Who a notice goes to, decided from the policy's `mail:` block and (for a manager) what the
// directory says about the manager. Pure: the activity looks the manager up and passes the answer.
// A manager without a usable address (no managerId on the record, no such account, a disabled
// account, no mail) → the unit's fallback mailbox, and the notice says why.

/** Whom a notice is for (contract A). */
export type NoticeRecipient =
  /**
   * The manager by employeeId (the record's managerId; null when it names none — null, not
   * undefined, so that it survives a payload's JSON). `unit` (orgUnit) picks the fallback mailbox.
   */
  | { manager: string | null; unit?: string }
  | { ops: true }
  /** The unit's fallback mailbox by orgUnit (longest prefix in mail.fallbackMailboxes, else default). */
  | { unit: string }
  /** The school's contact (mail.schoolContacts); none → the unit's (or default) fallback mailbox. */
  | { school: string; unit?: string }
  | { address: string };

export interface NoticeRequest {
  /** Idempotence key: one notice per event, e.g. "ready:E1001:2026-12-01". */
  key: string;
  /** Template id in config/notices.yaml. */
  template: string;
  to: NoticeRecipient;
  language?: NoticeLanguage;
  vars: Record<string, string | number>;
}

export type MailPolicy = NonNullable<Policy['mail']>;

const address = z
  .string()
  .max(254)
  .regex(/^[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be an e-mail address');
const code = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a code (letters, digits, _ . -)');
const employeeId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be an employee id');

export const noticeRecipientSchema = z.union([
  z.object({ manager: employeeId.nullable(), unit: code.optional() }).strict(),
  z.object({ ops: z.literal(true) }).strict(),
  z.object({ unit: code }).strict(),
  z.object({ school: code, unit: code.optional() }).strict(),
  z.object({ address }).strict(),
]);

/** The door of sendNotice: a request that fails names its field. */
export const noticeRequestSchema = z
  .object({
    key: z.string().regex(/^[A-Za-z0-9:._@-]{1,200}$/, 'must be a key of letters, digits and : . _ @ -'),
    template: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a template id'),
    to: noticeRecipientSchema,
    language: z.enum(['fi', 'sv', 'en']).optional(),
    vars: z.record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a variable name'),
      z.union([z.string().max(2000), z.number().finite()]),
    ),
  })
  .strict();

/** What the directory answered for the manager (null: no account carries the employeeID). */
export interface ManagerLookup {
  mail?: string;
  enabled: boolean;
}

export interface ChosenRecipients {
  to: string[];
  via: 'manager' | 'fallback' | 'school' | 'ops' | 'address';
  /** Note ids (config/notices.yaml `notes:`) to show on top: why it reached this mailbox. */
  notes: string[];
  /** Variables the notes use. */
  noteVars: Record<string, string>;
}

/** The unit's fallback mailbox: the longest orgUnit prefix in fallbackMailboxes, else `default`. */
export function fallbackMailbox(mail: MailPolicy, orgUnit: string | undefined): string {
  let best: string | undefined;
  if (orgUnit) {
    const unit = orgUnit.toUpperCase();
    for (const prefix of Object.keys(mail.fallbackMailboxes)) {
      if (prefix === 'default') continue;
      if (unit.startsWith(prefix.toUpperCase()) && (best === undefined || prefix.length > best.length)) {
        best = prefix;
      }
    }
  }
  return mail.fallbackMailboxes[best ?? 'default']!;
}

/**
 * The addresses for a recipient. `manager` is the directory's answer for `{ manager }` recipients
 * (null: no account carries the employeeID; undefined: not looked up, the record names none).
 */
export function chooseRecipients(
  mail: MailPolicy,
  recipient: NoticeRecipient,
  manager?: ManagerLookup | null,
): ChosenRecipients {
  if ('ops' in recipient) return { to: [mail.opsMailbox], via: 'ops', notes: [], noteVars: {} };
  if ('address' in recipient) return { to: [recipient.address], via: 'address', notes: [], noteVars: {} };
  if ('school' in recipient) {
    const contact = Object.hasOwn(mail.schoolContacts, recipient.school)
      ? mail.schoolContacts[recipient.school]
      : undefined;
    if (contact) return { to: [contact], via: 'school', notes: [], noteVars: {} };
    return {
      to: [fallbackMailbox(mail, recipient.unit)],
      via: 'fallback',
      notes: ['schoolContactUnknown'],
      noteVars: { schoolCode: recipient.school },
    };
  }
  if ('manager' in recipient) {
    if (manager && manager.enabled && manager.mail) {
      return { to: [manager.mail], via: 'manager', notes: [], noteVars: {} };
    }
    const to = [fallbackMailbox(mail, recipient.unit)];
    if (recipient.manager === null) return { to, via: 'fallback', notes: ['noManager'], noteVars: {} };
    return { to, via: 'fallback', notes: ['managerUnknown'], noteVars: { managerId: recipient.manager } };
  }
  return { to: [fallbackMailbox(mail, recipient.unit)], via: 'fallback', notes: [], noteVars: {} };
}
