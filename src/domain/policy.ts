import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { IdentityRecord } from './identity';
import { evaluateRule } from './role-rules';

// The role policy: which OU, groups (and later licences) each role gets. Loaded from YAML once at
// start-up and validated; every error names its path. OU and group values are relative to the
// directory base DN ("OU=Care,OU=Staff,OU=Tunnus"), groups are sAMAccountNames.

const rdnPath = z
  .string()
  .regex(
    /^(OU=[^,=]+)(,OU=[^,=]+)*$/i,
    'must be an OU path like "OU=Care,OU=Staff" (relative to the base DN)',
  );

const isoDateText = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');

const mailAddress = z
  .string()
  .max(254)
  .regex(/^[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be an e-mail address');

const clockTime = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be a time HH:MM (00:00-24:00)');

const groupName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, 'must be a group name (letters, digits, space . _ -)');

/** Placeholders a group template may hold, filled from the person's education facet. */
export const groupPlaceholders = ['schoolCode', 'class'] as const;
const PLACEHOLDER = /\{(schoolCode|class)\}/g;

/** A group name, or a template such as `Class-{schoolCode}-{class}` filled in per person. */
const groupOrTemplate = z
  .string()
  .refine((s) => !/[{}]/.test(s.replace(PLACEHOLDER, '')), {
    message: 'may only hold the placeholders {schoolCode} and {class}',
    abort: true,
  })
  .refine((s) => groupName.safeParse(s.replace(PLACEHOLDER, 'x')).success, {
    message: 'must be a group name (letters, digits, space . _ -) or a template of one',
  });

const licenceSchema = z
  .object({ sku: z.string().min(1), disabledPlans: z.array(z.string()).default([]) })
  .strict();

const roleSchema = z
  .object({
    name: z.string().min(1),
    match: z
      .object({
        jobCodes: z.array(z.string().min(1)).optional(),
        orgUnitPrefixes: z.array(z.string().min(1)).optional(),
        employmentTypes: z.array(z.string().min(1)).optional(),
        /**
         * Which sources the identity must have a record from (any of them). Default: education when
         * the rule names an education condition below, else hr, so that rules written for staff
         * never grant pupils anything.
         */
        sources: z
          .array(z.enum(['hr', 'education']))
          .min(1)
          .optional(),
        educationRoles: z
          .array(z.enum(['pupil', 'teacher']))
          .min(1)
          .optional(),
        schoolCodes: z.array(z.string().min(1)).optional(),
        /** Grade = the leading digits of the class ("7A" → 7); a class without digits matches none. */
        grades: z
          .object({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    ou: rdnPath.optional(),
    /** AD `title` for matching persons (first matching rule that sets one), e.g. for pupils. */
    title: z.string().min(1).max(128).optional(),
    groups: z.array(groupOrTemplate).default([]),
    licences: z.array(licenceSchema).default([]),
    mailbox: z.boolean().optional(),
    cloud: z.boolean().optional(),
    retentionDays: z.number().int().min(0).optional(),
  })
  .strict();

/** Who receives a first-day credential, tried in order: the first that resolves to an address. */
export const credentialRecipients = ['manager', 'schoolContact', 'fallback'] as const;

const credentialRuleSchema = z
  .object({
    /** Cloud users: a Temporary Access Pass (Graph bounds: 10 minutes to 30 days). */
    temporaryAccessPass: z
      .object({
        lifetimeMinutes: z.number().int().min(10).max(43200),
        usableOnce: z.boolean(),
      })
      .strict(),
    /** Accounts without a cloud identity: a one-time AD password, changed at the first logon. */
    initialPassword: z.object({ length: z.number().int().min(12).max(64) }).strict(),
    deliverTo: z.array(z.enum(credentialRecipients)).min(1),
  })
  .strict();

export type CredentialRule = z.infer<typeof credentialRuleSchema>;

const defaultCredentialRule = (): CredentialRule => ({
  temporaryAccessPass: { lifetimeMinutes: 480, usableOnce: true },
  initialPassword: { length: 16 },
  deliverTo: ['manager', 'fallback'],
});

export const policySchema = z
  .object({
    naming: z
      .object({
        upnDomain: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a DNS domain'),
        mailDomain: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a DNS domain'),
        /**
         * Names in scripts other than Latin (Cyrillic, Arabic, Greek, CJK …): false refuses them at
         * validation, naming the field; true lets the naming rule transliterate them (any-ascii).
         */
        transliterateNonLatin: z.boolean().default(false),
      })
      .strict(),
    lifecycle: z
      .object({
        preHireDays: z.number().int().min(0).max(365).default(14),
        /** Days a leaver's disabled account (and cloud user) is kept before deletion. */
        retentionDays: z.number().int().min(0).default(90),
        /** When access ends on the last working day, Helsinki time; 24:00 = end of the day. */
        lastDayEndsAt: clockTime.default('24:00'),
        /** Days the names of a deleted account stay reserved (mail must not reach a new person). */
        nameQuarantineDays: z.number().int().min(0).default(365),
        /**
         * An end date further in the past than this on an active person is more often a typo (2016
         * for 2026) than a late entry: the leaver is held for an operator's confirmation.
         */
        lateEndDateMaxDays: z.number().int().min(0).default(60),
      })
      .strict()
      .default({
        preHireDays: 14,
        retentionDays: 90,
        lastDayEndsAt: '24:00',
        nameQuarantineDays: 365,
        lateEndDateMaxDays: 60,
      }),
    ous: z
      .object({
        default: rdnPath,
        disabled: rdnPath,
        /** Placeholders holding the names of deleted accounts during their quarantine. */
        retiredNames: rdnPath.default('OU=Retired Names,OU=Tunnus'),
        /** Where groups made from templates (school, class) are created on demand (groupsOu()). */
        groups: rdnPath.optional(),
      })
      .strict(),
    /** The daily reconcile (Temporal Schedule "leaver-cleanup"). */
    cleanup: z
      .object({
        /** report: find and report only; enforce: also fix what it finds. */
        mode: z.enum(['report', 'enforce']).default('report'),
        /** Daily start, Helsinki time. */
        at: clockTime.default('02:00'),
        /** Monthly price per licence SKU (part number), for the savings in the report. */
        monthlyPrices: z.record(z.string().min(1), z.number().min(0)).default({}),
      })
      .strict()
      .default({ mode: 'report', at: '02:00', monthlyPrices: {} }),
    cloud: z
      .object({
        /** direct: Tunnus creates cloud users via Graph; synced: directory sync does, Tunnus waits. */
        mode: z.enum(['direct', 'synced']).default('direct'),
        /** ISO 3166 alpha-2; Graph refuses licences without it. */
        usageLocation: z
          .string()
          .regex(/^[A-Z]{2}$/, 'must be a two-letter country code')
          .default('FI'),
        /** How often a joiner waiting for a free licence seat looks again. */
        licenceRecheckSeconds: z.number().int().min(1).default(900),
        /** How often a joiner waiting for the mailbox (or directory sync) looks again. */
        provisioningRecheckSeconds: z.number().int().min(1).default(60),
      })
      .strict()
      .default({
        mode: 'direct',
        usageLocation: 'FI',
        licenceRecheckSeconds: 900,
        provisioningRecheckSeconds: 60,
      }),
    /** The telephony directory: catalogue entries and numbers flow for every person. */
    telephony: z
      .object({
        enabled: z.boolean().default(true),
        /** How often the periodic sync pulls number changes into AD and the cloud. */
        syncEveryMinutes: z.number().int().min(1).default(15),
        /** Whose entries the catalogue holds, by source (default hr: staff, not pupils). */
        sources: z
          .array(z.enum(['hr', 'education']))
          .min(1)
          .optional(),
      })
      .strict()
      .default({ enabled: true, syncEveryMinutes: 15 }),
    /**
     * The mass-change guard (src/domain/mass-change.ts): losses of access on every path, over a
     * rolling window, beyond this share of the active identities wait for approval.
     */
    safety: z
      .object({
        massChangeThresholdPercent: z.number().min(0).max(100).default(5),
        /** The rolling window the guard counts over; today's and tomorrow's ends always fall in it. */
        windowHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 31)
          .default(24),
        /** Groups with a lower threshold of their own (e.g. the care ERP's `ERP-*`). */
        groupThresholds: z
          .array(
            z
              .object({
                /** A group name, or a pattern with `*` for any characters (`ERP-*`). */
                groups: z.string().regex(/^[A-Za-z0-9 ._*{}-]{1,64}$/, 'must be a group name or pattern'),
                thresholdPercent: z.number().min(0).max(100),
              })
              .strict(),
          )
          .default(() => []),
        /**
         * Operator terminations (`tunnus terminate`) taking effect at once within the window (default
         * 3, src/domain/termination.ts): one more is stopped until the operator approves it.
         */
        terminationsPerWindow: z.number().int().min(1).max(10_000).optional(),
      })
      .strict()
      .default(() => ({ massChangeThresholdPercent: 5, windowHours: 24, groupThresholds: [] })),
    /** Snapshot imports (src/workflows/import.ts). */
    intake: z
      .object({
        /**
         * Per source: a snapshot lists everyone that source knows, so a person the index knows from
         * the source whom a snapshot leaves out is ended today (counted by the mass-change guard).
         * Off by default: a partial export must never end people.
         */
        snapshotsAuthoritative: z
          .object({ hr: z.boolean().default(false), education: z.boolean().default(false) })
          .strict()
          .default(() => ({ hr: false, education: false })),
        /** End dates that mean "no end" (HR systems write 9999-12-31): the record has no endDate. */
        endDateSentinels: z.array(isoDateText).default(() => ['9999-12-31']),
        /** Dates outside [earliest, latest] are refused; so are starts too far ahead (year typos). */
        dates: z
          .object({
            earliest: isoDateText.default('1900-01-01'),
            latest: isoDateText.default('2100-12-31'),
            startAtMostYearsAhead: z.number().int().min(0).max(100).default(5),
          })
          .strict()
          .default(() => ({ earliest: '1900-01-01', latest: '2100-12-31', startAtMostYearsAhead: 5 })),
        /**
         * Who may link a teaching-staff row (hr_employee_id) to an HR identity, giving it a teacher
         * facet and its groups: `education` = education snapshots an operator imports on the host,
         * `api:{client}` = that API client. An API client holding hr:write always may.
         */
        trustedStaffSources: z
          .array(
            z.string().regex(/^(education|api:[A-Za-z0-9._-]{1,64})$/, 'must be education or api:{client}'),
          )
          .default(() => ['education']),
      })
      .strict()
      // A fresh object per parse (zod hands out a default as is): one policy changed in place, as
      // tests do, must not change every other.
      .default(() => ({
        snapshotsAuthoritative: { hr: false, education: false },
        endDateSentinels: ['9999-12-31'],
        dates: { earliest: '1900-01-01', latest: '2100-12-31', startAtMostYearsAhead: 5 },
        trustedStaffSources: ['education'],
      })),
    /**
     * The first-day credential handover (src/activities/handover.ts): what is issued and to whom,
     * by default and per role name (the first matching role with an entry wins, field by field).
     */
    credentials: z
      .object({
        enabled: z.boolean().default(true),
        default: credentialRuleSchema.default(defaultCredentialRule),
        roles: z.record(z.string().min(1), credentialRuleSchema.partial()).default(() => ({})),
      })
      .strict()
      .default(() => ({ enabled: true, default: defaultCredentialRule(), roles: {} })),
    /**
     * The notice channel (src/activities/notify.ts): e-mail through Graph sendMail from one shared
     * mailbox. Recipients: a manager's own AD mail; else the unit's fallback mailbox (longest
     * orgUnit prefix, else `default`); pupils' credentials to the school contact; ops notices to
     * opsMailbox. Absent: no notice can be sent (the activity fails naming `mail`).
     */
    mail: z
      .object({
        /** The shared mailbox every notice is sent from (needs Mail.Send scoped to it). */
        senderMailbox: mailAddress,
        opsMailbox: mailAddress,
        /** Per orgUnit prefix (`SOTE`, `SOTE-HOIVA`), the longest match wins; `default` is required. */
        fallbackMailboxes: z
          .record(
            z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be an orgUnit prefix or default'),
            mailAddress,
          )
          .refine((m) => typeof m.default === 'string', { message: 'needs a default mailbox' }),
        /** Per school code, the contact who receives pupils' credentials and school notices. */
        schoolContacts: z.record(z.string().min(1), mailAddress).default(() => ({})),
        /** Language of a notice when the record names none. */
        defaultLanguage: z.enum(['fi', 'sv', 'en']).default('fi'),
      })
      .strict()
      .optional(),
    /** When Tunnus tells managers and ops about an event (docs/notifications.md); sent through `mail`. */
    notifications: z
      .object({
        /** Days before a leaver's last day that the manager is reminded (0: no reminder). */
        leaverReminderDays: z.number().int().min(0).max(90).default(7),
        /** A joiner waiting longer than this for a free licence seat is reported to ops (once per wait). */
        licenceWaitLimitHours: z
          .number()
          .positive()
          .max(24 * 90)
          .default(48),
      })
      .strict()
      .default(() => ({ leaverReminderDays: 7, licenceWaitLimitHours: 48 })),
    /** Groups Tunnus manages even if no rule grants them today (so it can remove them). */
    managedGroups: z.array(groupName).default([]),
    roles: z.array(roleSchema).min(1, 'needs at least one role'),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
export type RoleRule = z.infer<typeof roleSchema>;

export class PolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid policy: ${problems.join('; ')}`);
    this.name = 'PolicyError';
  }
}

/** Parses and validates policy YAML; throws PolicyError listing every problem with its path. */
export function parsePolicy(yamlText: string): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    throw new PolicyError([`not valid YAML: ${(err as Error).message}`]);
  }
  const result = policySchema.safeParse(raw);
  if (!result.success) {
    throw new PolicyError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const roleNames = new Set(result.data.roles.map((r) => r.name));
  const unknownRoles = Object.keys(result.data.credentials.roles).filter((n) => !roleNames.has(n));
  if (unknownRoles.length > 0) {
    throw new PolicyError(unknownRoles.map((n) => `credentials.roles.${n}: no role has this name`));
  }
  return result.data;
}

/** What the policy grants one person. */
export interface Entitlements {
  /** The OU (relative) of the first matching role, else the default OU. */
  ou: string;
  /** Union of the groups of every matching role, sorted. */
  groups: string[];
  licences: { sku: string; disabledPlans: string[] }[];
  mailbox: boolean;
  cloud: boolean;
  retentionDays: number;
  /** Names of the matching roles, in policy order (for "why" explanations). */
  roles: string[];
  /** The matching roles that export the person to the cloud (empty: not a cloud identity). */
  cloudRoles: string[];
  /** AD title from the first matching rule that sets one; otherwise the record's job title. */
  title?: string;
}

export { ruleSources } from './role-rules';

/** Whether the rule applies to the person: the one evaluator (role-rules.ts) that explain also reads. */
export function roleMatches(rule: RoleRule, record: IdentityRecord): boolean {
  return evaluateRule(rule, record).matches;
}

export const isGroupTemplate = (group: string) => /\{(schoolCode|class)\}/.test(group);

/**
 * A template filled from the person's education facet: `Class-{schoolCode}-{class}` → `Class-K01-7A`.
 * Characters a group name cannot hold become `-`. Undefined when the person has no facet.
 */
export function fillGroupTemplate(template: string, record: IdentityRecord): string | undefined {
  const edu = record.education;
  if (!isGroupTemplate(template)) return template;
  if (!edu) return undefined;
  let missing = false;
  const filled = template.replace(PLACEHOLDER, (_, key: 'schoolCode' | 'class') => {
    const value = edu[key];
    if (value === undefined) missing = true;
    return (value ?? '').replace(/[^A-Za-z0-9._-]+/g, '-');
  });
  // A class group for someone without a class (staff) is not a group at all.
  return missing ? undefined : filled.slice(0, 64);
}

/**
 * Whether a group name is one the policy's templates make (any school, any class): such groups
 * are managed by their pattern, so a pupil's old class group goes when they move class.
 */
export function matchesGroupTemplate(policy: Policy, group: string): boolean {
  return groupTemplateRegexes(policy).some((re) => re.test(group));
}

const templateCache = new WeakMap<Policy, RegExp[]>();
function groupTemplateRegexes(policy: Policy): RegExp[] {
  let cached = templateCache.get(policy);
  if (!cached) {
    const templates = new Set(policy.roles.flatMap((r) => r.groups.filter(isGroupTemplate)));
    cached = [...templates].map((t) => {
      const parts = t.split(PLACEHOLDER);
      // split with a capture group alternates literal, placeholder name, literal, …
      const source = parts.map((p, i) => (i % 2 === 1 ? '[A-Za-z0-9._-]+' : escapeRegex(p))).join('');
      return new RegExp(`^${source}$`, 'i');
    });
    templateCache.set(policy, cached);
  }
  return cached;
}

/** The template a group was made from (`Class-{schoolCode}-{class}` for `Class-K01-7A`), if any. */
export function groupTemplateOf(policy: Policy, group: string): string | undefined {
  const templates = [...new Set(policy.roles.flatMap((r) => r.groups.filter(isGroupTemplate)))];
  const regexes = groupTemplateRegexes(policy);
  const i = regexes.findIndex((re) => re.test(group));
  return i < 0 ? undefined : templates[i];
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Evaluates the policy for a record. Pure. */
export function entitlementsFor(policy: Policy, record: IdentityRecord): Entitlements {
  const matching = policy.roles.filter((rule) => roleMatches(rule, record));
  const groups = new Set<string>();
  const licences = new Map<string, string[]>();
  for (const rule of matching) {
    for (const g of rule.groups) {
      const filled = fillGroupTemplate(g, record);
      if (filled) groups.add(filled);
    }
    for (const l of rule.licences) if (!licences.has(l.sku)) licences.set(l.sku, l.disabledPlans);
  }
  const retention = matching.map((r) => r.retentionDays).filter((d): d is number => d !== undefined);
  const title = matching.find((r) => r.title)?.title;
  return {
    ou: matching.find((r) => r.ou)?.ou ?? policy.ous.default,
    groups: [...groups].sort(),
    licences: [...licences].map(([sku, disabledPlans]) => ({ sku, disabledPlans })),
    mailbox: matching.some((r) => r.mailbox === true),
    cloud: matching.some((r) => r.cloud === true),
    retentionDays: retention.length > 0 ? Math.max(...retention) : policy.lifecycle.retentionDays,
    roles: matching.map((r) => r.name),
    cloudRoles: matching.filter((r) => r.cloud === true).map((r) => r.name),
    ...(title ? { title } : {}),
  };
}

/**
 * Every group the policy manages by name: named by a rule or listed as managed. Others are left
 * alone, except groups a template makes (see matchesGroupTemplate), which are managed by pattern.
 */
export function managedGroups(policy: Policy): string[] {
  const all = new Set(policy.managedGroups);
  for (const rule of policy.roles) rule.groups.filter((g) => !isGroupTemplate(g)).forEach((g) => all.add(g));
  return [...all].sort();
}

/** Every licence SKU the policy manages (part numbers): only these are ever removed. */
export function managedSkus(policy: Policy): string[] {
  const all = new Set<string>();
  for (const rule of policy.roles) rule.licences.forEach((l) => all.add(l.sku));
  return [...all].sort();
}

/** The OU (relative) where template groups are created; the sandbox keeps its groups there too. */
export const groupsOu = (policy: Policy): string => policy.ous.groups ?? 'OU=Groups,OU=Tunnus';

/** Every OU the policy places accounts in (relative paths), for provisioning and cleanup scope. */
export function managedOus(policy: Policy): string[] {
  const all = new Set([policy.ous.default, policy.ous.disabled, policy.ous.retiredNames]);
  for (const rule of policy.roles) if (rule.ou) all.add(rule.ou);
  return [...all].sort();
}
