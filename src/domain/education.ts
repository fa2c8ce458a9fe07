import { z } from 'zod';
import { canonicalIdentityKey, studentIdProblem } from './identity-key';
import { defaultIntakeRules, type IntakeRules } from './intake-rules';
import {
  accountNameProblems,
  cleanInput,
  code,
  datesAheadProblems,
  employeeIdSchema,
  FIELD_MAX,
  invalidFields,
  isoDate,
  memo,
  name,
  parseWith,
  textField,
  type ParseResult,
} from './record';

// The education record (docs/architecture.md "Education record"): one row per pupil or teaching-staff member
// from the education system. Pupils carry the student id; staff carry their HR employee id, which
// links the row to their HR record (one identity). camelCase here, snake_case in the CSV. The same
// door as the HR record (src/domain/record.ts): hidden characters, lengths, names, dates, ids.

export { educationIdentityId, educationRoleOf } from './identity';
export { PUPIL_ID_PREFIX } from './identity-key';

/** A student id: `S-{studentId}` must stay within the 16-character identity key. */
export const studentIdSchema = textField(studentIdProblem, canonicalIdentityKey);

// Finnish classes read "7A", "9 B", "1-2C": the grade is the leading digits. Staff may have none.
const className = textField((v) =>
  /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,15}$/.test(v) ? undefined : 'must be 1-16 letters, digits, space . _ -',
);

export function educationRecordSchemaFor(rules: IntakeRules) {
  return memo(schemas, rules, () =>
    z
      .object({
        studentId: studentIdSchema.optional(),
        hrEmployeeId: employeeIdSchema.optional(),
        firstNames: name(FIELD_MAX.firstNames, rules),
        callingName: name(FIELD_MAX.givenName, rules).optional(),
        lastName: name(FIELD_MAX.lastName, rules),
        schoolCode: code(FIELD_MAX.schoolCode),
        class: className.optional(),
        startDate: isoDate(rules),
        endDate: isoDate(rules).optional(),
      })
      .strict()
      .superRefine((r, ctx) => {
        const invalid = invalidFields(ctx);
        const valid = (...fields: string[]) => fields.every((f) => !invalid.has(f));
        const issue = (field: string, message: string) =>
          ctx.addIssue({ code: 'custom', path: [field], message });
        if (r.studentId === undefined && r.hrEmployeeId === undefined) {
          issue('studentId', 'is required (or hrEmployeeId for teaching staff)');
        }
        if (r.studentId !== undefined && r.hrEmployeeId !== undefined) {
          issue(
            'hrEmployeeId',
            'cannot be given together with studentId (a row is a pupil or a staff member)',
          );
        }
        if (r.hrEmployeeId !== undefined && !rules.trustStaffRows) {
          issue(
            'hrEmployeeId',
            'may not be linked to an HR identity by this sender (policy intake.trustedStaffSources)',
          );
        }
        if (r.studentId !== undefined && r.class === undefined) issue('class', 'is required for a pupil');
        if (valid('startDate', 'endDate') && r.endDate !== undefined && r.endDate < r.startDate) {
          issue('endDate', 'is before startDate');
        }
        if (valid('startDate')) {
          for (const [field, problem] of datesAheadProblems(r, rules)) issue(field, problem);
        }
        if (valid('firstNames', 'callingName', 'lastName')) {
          for (const [field, problem] of accountNameProblems(r)) issue(field, problem);
        }
      }),
  );
}

const schemas = new Map<string, unknown>();

export const educationRecordSchema = educationRecordSchemaFor(defaultIntakeRules);

export type EducationRecord = z.infer<typeof educationRecordSchema>;

export type EducationRole = 'pupil' | 'teacher';

/** The grade of a class: its leading digits ("7A" → 7, "10" → 10); none for "Esi" (pre-school). */
export function gradeOf(className: string | undefined): number | undefined {
  const digits = className === undefined ? null : /^\d+/.exec(className.trim());
  return digits ? Number(digits[0]) : undefined;
}

const optionalKeys = ['studentId', 'hrEmployeeId', 'callingName', 'class', 'endDate'];

/**
 * Validates an unknown value as an education record under the policy's rules; optional fields
 * given as "" count as absent, and an end-date sentinel means "no end".
 */
export function parseEducationRecord(
  input: unknown,
  rules: IntakeRules = defaultIntakeRules,
): ParseResult<EducationRecord> {
  return parseWith(educationRecordSchemaFor(rules), cleanInput(input, optionalKeys, rules));
}
