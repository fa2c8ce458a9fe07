import { z } from 'zod';

// The HR person record (DESIGN.md "Data formats"). HTTP/JSON uses camelCase, CSV snake_case;
// both end up as HrRecord. Dates are calendar dates in Europe/Helsinki.

/** "is required" when absent, "must be text" when of another type. */
export const text = () =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') });

export const isoDate = text()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  // abort: a malformed date gets one message, not two
  .refine((s) => isRealDate(s), { message: 'is not a real calendar date', abort: true });

export const name = (max: number) =>
  text()
    .trim()
    .min(1, 'is required')
    .max(max, `must be at most ${max} characters`)
    // Control characters never belong in a name and would corrupt LDAP/CSV output.
    // eslint-disable-next-line no-control-regex -- matching them is the point
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'contains control characters');

export const employeeIdSchema = text().regex(/^[A-Za-z0-9-]{1,32}$/, 'must be 1-32 letters, digits or -');

export const employmentTypes = ['permanent', 'fixed_term', 'hourly', 'substitute'] as const;

export const hrRecordSchema = z
  .object({
    employeeId: employeeIdSchema,
    firstNames: name(200),
    callingName: name(100).optional(),
    lastName: name(200),
    jobTitle: name(200),
    jobCode: text().trim().min(1, 'is required').max(64),
    orgUnit: text().trim().min(1, 'is required').max(64),
    employmentType: z.enum(employmentTypes, { message: `must be one of ${employmentTypes.join(', ')}` }),
    startDate: isoDate,
    endDate: isoDate.optional(),
    /** A change HR records ahead of time (new job from a date): applied on that day. */
    effectiveDate: isoDate.optional(),
    managerId: employeeIdSchema.optional(),
    language: z.enum(['fi', 'sv', 'en']).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.endDate !== undefined && r.endDate < r.startDate) {
      ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'is before startDate' });
    }
    if (r.managerId !== undefined && r.managerId === r.employeeId) {
      ctx.addIssue({ code: 'custom', path: ['managerId'], message: 'cannot be the person themself' });
    }
  });

export type HrRecord = z.infer<typeof hrRecordSchema>;

/** A validation problem, naming the field (camelCase) and what is wrong with it. */
export interface FieldError {
  field: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Validates an unknown value as an HR record; optional fields given as "" count as absent. */
export function parseHrRecord(input: unknown): ParseResult<HrRecord> {
  const cleaned = dropEmptyOptionals(input);
  const result = hrRecordSchema.safeParse(cleaned);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => ({
      field: issue.path.length > 0 ? issue.path.join('.') : unknownKeyField(issue),
      message: issue.message,
    })),
  };
}

/** Formats field errors as one line: "lastName is required; startDate must be a date YYYY-MM-DD". */
export function describeErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field} ${e.message}`).join('; ');
}

const optionalKeys = ['callingName', 'endDate', 'managerId', 'language'];

function dropEmptyOptionals(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (optionalKeys.includes(key) && (value === '' || value === null)) continue;
    out[key] = value;
  }
  return out;
}

function unknownKeyField(issue: { code: string; keys?: string[] }): string {
  return issue.code === 'unrecognized_keys' && issue.keys ? issue.keys.join(', ') : '(record)';
}

function isRealDate(s: string): boolean {
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
