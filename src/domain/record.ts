import { z } from 'zod';
import { canonicalIdentityKey, hrEmployeeIdProblem, identityKeyProblem } from './identity-key';
import { defaultIntakeRules, type IntakeRules } from './intake-rules';
import { BASE_LOCAL_PART_MAX, baseLocalPart, givenNameFor, NamingError, type PersonName } from './naming';
import { CODE_PATTERN, CODE_RULE, hiddenCharacterProblem, nameProblem, normaliseText } from './text';

// The HR person record (docs/architecture.md "Data formats"). HTTP/JSON uses camelCase, CSV snake_case;
// both end up as HrRecord. Dates are calendar dates in Europe/Helsinki.
//
// Validation at the door, so that nothing doubtful reaches a workflow: every text field is
// refused if it holds hidden characters (src/domain/text.ts) and stored in NFC with its spaces
// tidied; lengths stay within what AD and Graph store; codes keep to a safe character set; ids
// are canonical identity keys (src/domain/identity-key.ts); dates are real and within the
// policy's range, and an end-date sentinel reads as "no end"; names must be Latin script (unless
// the policy transliterates others) and make a usable account name. Every error names its field.

/** What AD (and Graph) store for the attributes a record fills. */
export const FIELD_MAX = {
  /** AD givenName and sn. */
  givenName: 64,
  lastName: 64,
  /** Not stored whole; the given name taken from it must fit givenName. */
  firstNames: 256,
  /** AD title. */
  jobTitle: 128,
  /** AD department. */
  orgUnit: 64,
  jobCode: 64,
  schoolCode: 16,
} as const;

type Problem = (value: string) => string | undefined;

/** "is required" when absent, "must be text" when of another type. */
export const text = () =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') });

/**
 * A text field: stored normalised (NFC, spaces tidied, trimmed, or `fold` for ids), refused if it
 * holds hidden characters, then `problem` says what else is wrong. One message per field; the
 * issue does not abort the record, so cross-field checks still run on the other fields.
 */
export const textField = (problem: Problem, fold: (s: string) => string = normaliseText) =>
  text()
    .overwrite(fold)
    .superRefine((value, ctx) => {
      const message = hiddenCharacterProblem(value) ?? problem(value);
      if (message) ctx.addIssue({ code: 'custom', message });
    });

/** The top-level fields that already have an issue: cross-field checks leave them alone. */
export const invalidFields = (ctx: { issues: readonly { path?: readonly PropertyKey[] }[] }) =>
  new Set(ctx.issues.map((i) => String(i.path?.[0] ?? '')));

const required =
  (max: number, then?: Problem): Problem =>
  (v) =>
    // Lengths in UTF-16 units, as AD and Graph count them.
    v === '' ? 'is required' : v.length > max ? `must be at most ${max} characters` : then?.(v);

/** Free text (a job title): any visible characters. */
export const freeText = (max: number) => textField(required(max));

/** A code (job code, org unit, school code): a safe ASCII set. */
export const code = (max: number) =>
  textField(required(max, (v) => (CODE_PATTERN.test(v) ? undefined : `must be ${CODE_RULE}`)));

/** A person's name: letters of the Latin script (others if the policy transliterates them). */
export const name = (max: number, rules: IntakeRules = defaultIntakeRules) =>
  textField(required(max, (v) => nameProblem(v, rules.transliterateNonLatin)));

/** An identity key in canonical form (src/domain/identity-key.ts): HR, pupil, any. */
export const identityKeySchema = textField((k) => identityKeyProblem(k), canonicalIdentityKey);
/** An HR employee id: an identity key outside the pupils' `S-` space. */
export const employeeIdSchema = textField(hrEmployeeIdProblem, canonicalIdentityKey);

/** A real calendar date YYYY-MM-DD within the policy's range. */
export const isoDate = (rules: IntakeRules = defaultIntakeRules) =>
  textField((s) => {
    if (s === '') return 'is required';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return 'must be a date YYYY-MM-DD';
    if (!isRealDate(s)) return 'is not a real calendar date';
    if (s < rules.earliestDate) return `is before ${rules.earliestDate} (a typo in the year?)`;
    if (s > rules.latestDate) return `is after ${rules.latestDate} (a typo in the year?)`;
    return undefined;
  });

export const employmentTypes = ['permanent', 'fixed_term', 'hourly', 'substitute'] as const;

/** The schema for the rules; built once per distinct rules (a policy gives few). */
export function hrRecordSchemaFor(rules: IntakeRules) {
  return memo(schemas, rules, () =>
    z
      .object({
        employeeId: employeeIdSchema,
        firstNames: name(FIELD_MAX.firstNames, rules),
        callingName: name(FIELD_MAX.givenName, rules).optional(),
        lastName: name(FIELD_MAX.lastName, rules),
        jobTitle: freeText(FIELD_MAX.jobTitle),
        jobCode: code(FIELD_MAX.jobCode),
        orgUnit: code(FIELD_MAX.orgUnit),
        employmentType: z.enum(employmentTypes, { message: `must be one of ${employmentTypes.join(', ')}` }),
        startDate: isoDate(rules),
        endDate: isoDate(rules).optional(),
        /** A change HR records ahead of time (new job from a date): applied on that day. */
        effectiveDate: isoDate(rules).optional(),
        managerId: employeeIdSchema.optional(),
        language: z.enum(['fi', 'sv', 'en']).optional(),
      })
      .strict()
      .superRefine((r, ctx) => {
        const invalid = invalidFields(ctx);
        const valid = (...fields: string[]) => fields.every((f) => !invalid.has(f));
        const issue = (field: string, message: string) =>
          ctx.addIssue({ code: 'custom', path: [field], message });
        if (valid('startDate', 'endDate') && r.endDate !== undefined && r.endDate < r.startDate) {
          issue('endDate', 'is before startDate');
        }
        if (valid('employeeId', 'managerId') && r.managerId !== undefined && r.managerId === r.employeeId) {
          issue('managerId', 'cannot be the person themself');
        }
        if (valid('startDate', 'effectiveDate')) {
          for (const [field, problem] of datesAheadProblems(r, rules)) issue(field, problem);
        }
        if (valid('firstNames', 'callingName', 'lastName')) {
          for (const [field, problem] of accountNameProblems(r)) issue(field, problem);
        }
      }),
  );
}

const schemas = new Map<string, unknown>();
// memo's cache by rules object; declared before the first schema below is built.
const byObject = new WeakMap<IntakeRules, Map<Map<string, unknown>, unknown>>();

/** The record schema under the default rules (the API's OpenAPI document shows this one). */
export const hrRecordSchema = hrRecordSchemaFor(defaultIntakeRules);

export type HrRecord = z.infer<typeof hrRecordSchema>;

/** A validation problem, naming the field (camelCase) and what is wrong with it. */
export interface FieldError {
  field: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const optionalKeys = ['callingName', 'endDate', 'effectiveDate', 'managerId', 'language'];

/**
 * Validates an unknown value as an HR record under the policy's rules (defaults if not given).
 * Optional fields given as "", blanks or null count as absent; an end date that is one of the
 * policy's sentinels (9999-12-31) means "no end" and is dropped.
 */
export function parseHrRecord(
  input: unknown,
  rules: IntakeRules = defaultIntakeRules,
): ParseResult<HrRecord> {
  return parseWith(hrRecordSchemaFor(rules), cleanInput(input, optionalKeys, rules));
}

/** Formats field errors as one line: "lastName is required; startDate must be a date YYYY-MM-DD". */
export function describeErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field} ${e.message}`).join('; ');
}

/** Runs a record schema and names each problem's field (unknown keys as fields of their own). */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown): ParseResult<T> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => ({
      field:
        issue.path.length > 0
          ? issue.path.join('.')
          : issue.code === 'unrecognized_keys'
            ? issue.keys.join(', ')
            : '(record)',
      message: issue.message,
    })),
  };
}

/**
 * A copy of the input in which every key is an own property (a key named `__proto__` or
 * `constructor` is an ordinary unknown key, never the object's prototype), without empty optional
 * values and with an end-date sentinel removed. Non-objects pass through for the schema to refuse.
 */
export function cleanInput(input: unknown, optional: readonly string[], rules: IntakeRules): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (optional.includes(key) && (value === null || (typeof value === 'string' && value.trim() === ''))) {
      continue;
    }
    if (key === 'endDate' && typeof value === 'string' && rules.endDateSentinels.includes(value.trim())) {
      continue;
    }
    // An own property even when the key is `__proto__` (plain assignment would set the prototype).
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true });
    else out[key] = value;
  }
  return out;
}

/** Start and effective dates far ahead of today are likely year typos (2052 for 2025). */
export function datesAheadProblems(
  r: { startDate: string; effectiveDate?: string },
  rules: IntakeRules,
): [string, string][] {
  if (rules.today === undefined) return [];
  const years = rules.startAtMostYearsAhead;
  const limit = `${String(Number(rules.today.slice(0, 4)) + years).padStart(4, '0')}${rules.today.slice(4)}`;
  const out: [string, string][] = [];
  for (const field of ['startDate', 'effectiveDate'] as const) {
    const value = r[field];
    if (value !== undefined && value > limit) {
      out.push([field, `is more than ${years} years ahead (after ${limit}; a typo in the year?)`]);
    }
  }
  return out;
}

/**
 * The naming rule must make an account name of the names: letters to spell it with, a given name
 * AD can store, and a local part that fits UPN and mail (64) with room for a collision number.
 */
export function accountNameProblems(name: PersonName): [string, string][] {
  const givenField = name.callingName?.trim() ? 'callingName' : 'firstNames';
  const given = givenNameFor(name);
  if ([...given].length > FIELD_MAX.givenName) {
    return [[givenField, `gives a given name longer than ${FIELD_MAX.givenName} characters (AD givenName)`]];
  }
  try {
    const base = baseLocalPart(name);
    if (base.length > BASE_LOCAL_PART_MAX) {
      return [
        [
          'lastName',
          `with the given name makes an account name of ${base.length} characters; at most ${BASE_LOCAL_PART_MAX} fit`,
        ],
      ];
    }
  } catch (err) {
    if (err instanceof NamingError) return [[err.field, err.reason]];
    throw err;
  }
  return [];
}

function isRealDate(s: string): boolean {
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  return days !== undefined && d >= 1 && d <= days;
}

/**
 * One schema per distinct rules; a few at most (the policy's rules per sender, per day). The same
 * rules object (a whole file's rows) is found by identity, an equal one by its JSON.
 */
export function memo<T>(cache: Map<string, unknown>, rules: IntakeRules, build: () => T): T {
  const known = byObject.get(rules)?.get(cache);
  if (known !== undefined) return known as T;
  const key = JSON.stringify(rules);
  let schema = cache.get(key) as T | undefined;
  if (schema === undefined) {
    if (cache.size >= 32) cache.clear();
    schema = build();
    cache.set(key, schema);
  }
  const perCache = byObject.get(rules) ?? new Map<Map<string, unknown>, unknown>();
  perCache.set(cache, schema);
  byObject.set(rules, perCache);
  return schema;
}
