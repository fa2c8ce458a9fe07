import type { EducationRecord, EducationRole } from './education';
import { canonicalIdentityKey, pupilIdentityKey } from './identity-key';
import type { HrRecord } from './record';

export { canonicalIdentityKey } from './identity-key';

// One identity, several sources: the person workflow keeps the latest record of each source and
// plans with the one record merged from them here. Pure and deterministic (workflows call it, so
// this module imports only types and the tiny identity-key module: no zod, no naming tables).
//
// - HR is authoritative for everything both sources know (names, dates, job): with an HR record,
//   the education row adds only its facet (school, class, role).
// - A pupil (education only) gets a record derived from the row:
//     employeeId     S-{student_id}        (see education.ts: the id spaces stay apart)
//     jobCode        PUPIL                 (no HR job code; policy rules match on the facet)
//     jobTitle       "Oppilas"             (a role's `title` in the policy may override it in AD)
//     orgUnit        school_code           (AD department; no HR rule matches it: see policy.ts)
//     employmentType fixed_term            (the record shape requires one; a study right ends)
//     names, start and end dates from the row.
// - A staff row (hr_employee_id) without the HR record yet gives no record: staff accounts follow
//   HR employment, so the identity waits for HR rather than guessing dates and a job.

export type RecordSource = 'hr' | 'education';
export type SourceRecord = HrRecord | EducationRecord;

export const PUPIL_JOB_CODE = 'PUPIL';
export const PUPIL_JOB_TITLE = 'Oppilas';

export interface EducationFacet {
  schoolCode: string;
  /** Pupils always have one; staff may not. */
  class?: string;
  role: EducationRole;
}

/**
 * The record planning uses: an HR record (as delivered, for HR-only people), plus the education
 * facet and the sources it came from. `sources` absent means HR only, so records held before the
 * education source existed read exactly as they did.
 */
export type IdentityRecord = HrRecord & {
  education?: EducationFacet;
  sources?: RecordSource[];
};

export interface SourceRecords {
  hr?: HrRecord;
  education?: EducationRecord;
}

/** The sources a record came from (HR when it does not say). */
export const sourcesOf = (record: IdentityRecord): RecordSource[] => record.sources ?? ['hr'];

/**
 * The identity key an education row belongs to: the HR employee id for staff (their HR record's
 * identity), `S-{studentId}` for pupils (src/domain/identity-key.ts: the spaces cannot collide).
 */
export function educationIdentityId(r: EducationRecord): string {
  return r.hrEmployeeId !== undefined ? canonicalIdentityKey(r.hrEmployeeId) : pupilIdentityKey(r.studentId!);
}

/** A row with an HR employee id is teaching staff; one with a student id is a pupil. */
export const educationRoleOf = (r: EducationRecord): EducationRole =>
  r.hrEmployeeId !== undefined ? 'teacher' : 'pupil';

/** The identity key a source's record belongs to (canonical, whatever the record held). */
export function identityIdOf(source: RecordSource, record: SourceRecord): string {
  return source === 'hr'
    ? canonicalIdentityKey((record as HrRecord).employeeId)
    : educationIdentityId(record as EducationRecord);
}

/**
 * The record index key of a source's record (src/store/record-index.ts). The identity id, except
 * for a staff member's education row, which has its own key: the index keeps one hash per key, and
 * sharing the HR key would make every HR and education import see each teacher as changed.
 */
export function indexKeyOf(source: RecordSource, record: SourceRecord): string {
  const id = identityIdOf(source, record);
  return source === 'education' && (record as EducationRecord).hrEmployeeId !== undefined
    ? `education:${id}`
    : id;
}

/** The one record to plan with, or undefined when the sources held do not yet make a person. */
export function mergeSources(records: SourceRecords): IdentityRecord | undefined {
  const { hr, education } = records;
  if (hr && !education) return hr;
  if (!education) return undefined;
  const facet: EducationFacet = {
    schoolCode: education.schoolCode,
    ...(education.class !== undefined ? { class: education.class } : {}),
    role: educationRoleOf(education),
  };
  if (hr) return { ...hr, education: facet, sources: ['hr', 'education'] };
  if (facet.role === 'teacher') return undefined;
  return {
    employeeId: educationIdentityId(education),
    firstNames: education.firstNames,
    ...(education.callingName !== undefined ? { callingName: education.callingName } : {}),
    lastName: education.lastName,
    jobTitle: PUPIL_JOB_TITLE,
    jobCode: PUPIL_JOB_CODE,
    orgUnit: education.schoolCode,
    employmentType: 'fixed_term',
    startDate: education.startDate,
    ...(education.endDate !== undefined ? { endDate: education.endDate } : {}),
    education: facet,
    sources: ['education'],
  };
}
