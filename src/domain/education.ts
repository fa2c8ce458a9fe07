import { z } from 'zod';
import { employeeIdSchema, isoDate, name, text, type FieldError, type ParseResult } from './record';

// The education record (DESIGN.md "Education record"): one row per pupil or teaching-staff member
// from the education system. Pupils carry the student id; staff carry their HR employee id, which
// links the row to their HR record (one identity). camelCase here, snake_case in the CSV.

/** Pupils' identity ids are `S-{studentId}`, so the result stays within the 32-character id rule. */
export const PUPIL_ID_PREFIX = 'S-';

export const studentIdSchema = text().regex(/^[A-Za-z0-9-]{1,30}$/, 'must be 1-30 letters, digits or -');

export const educationRecordSchema = z
  .object({
    studentId: studentIdSchema.optional(),
    hrEmployeeId: employeeIdSchema.optional(),
    firstNames: name(200),
    callingName: name(100).optional(),
    lastName: name(200),
    schoolCode: text()
      .trim()
      .regex(/^[A-Za-z0-9-]{1,16}$/, 'must be 1-16 letters, digits or -'),
    // Finnish classes read "7A", "9 B", "1-2C": the grade is the leading digits. Staff may have none.
    class: text()
      .trim()
      .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,15}$/, 'must be 1-16 letters, digits, space . _ -')
      .optional(),
    startDate: isoDate,
    endDate: isoDate.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.studentId === undefined && r.hrEmployeeId === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['studentId'],
        message: 'is required (or hrEmployeeId for teaching staff)',
      });
    }
    if (r.studentId !== undefined && r.hrEmployeeId !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['hrEmployeeId'],
        message: 'cannot be given together with studentId (a row is a pupil or a staff member)',
      });
    }
    if (r.studentId !== undefined && r.class === undefined) {
      ctx.addIssue({ code: 'custom', path: ['class'], message: 'is required for a pupil' });
    }
    if (r.endDate !== undefined && r.endDate < r.startDate) {
      ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'is before startDate' });
    }
  });

export type EducationRecord = z.infer<typeof educationRecordSchema>;

export type EducationRole = 'pupil' | 'teacher';

/** A row with an HR employee id is teaching staff; one with a student id is a pupil. */
export const educationRoleOf = (r: EducationRecord): EducationRole =>
  r.hrEmployeeId !== undefined ? 'teacher' : 'pupil';

/**
 * The identity the row belongs to: the HR employee id for staff (their HR record's identity), the
 * prefixed student id for pupils. The prefix keeps the two systems' id spaces apart by
 * construction: a student id that happens to equal an employee id is still another person.
 */
export function educationIdentityId(r: EducationRecord): string {
  return r.hrEmployeeId ?? `${PUPIL_ID_PREFIX}${r.studentId!}`;
}

/** The grade of a class: its leading digits ("7A" → 7, "10" → 10); none for "Esi" (pre-school). */
export function gradeOf(className: string | undefined): number | undefined {
  const digits = className === undefined ? null : /^\d+/.exec(className.trim());
  return digits ? Number(digits[0]) : undefined;
}

const optionalKeys = ['studentId', 'hrEmployeeId', 'callingName', 'class', 'endDate'];

/** Validates an unknown value as an education record; optional fields given as "" count as absent. */
export function parseEducationRecord(input: unknown): ParseResult<EducationRecord> {
  let cleaned = input;
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    cleaned = Object.fromEntries(
      Object.entries(input).filter(([k, v]) => !(optionalKeys.includes(k) && (v === '' || v === null))),
    );
  }
  const result = educationRecordSchema.safeParse(cleaned);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue): FieldError => ({
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
