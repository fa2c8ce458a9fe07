import { gradeOf } from './education';
import { sourcesOf, type IdentityRecord } from './identity';
import type { RoleRule } from './policy';

// The one evaluator of role-rule conditions. The plan (entitlementsFor → roleMatches) and
// `tunnus explain` (explainRule) both read this, so what explain says is what the run does.

export type HrAttribute = 'jobCode' | 'orgUnit' | 'employmentType';
/** What a rule condition reads: an HR attribute, the record's sources, or the education facet. */
export type ReasonAttribute = HrAttribute | 'source' | 'educationRole' | 'schoolCode' | 'grade';

/** One condition of a role rule, as it applies to the person. */
export interface Reason {
  attribute: ReasonAttribute;
  /** The person's value. */
  value: string;
  /** What the rule accepts: job codes, org-unit prefixes or employment types. */
  accepts: string[];
  /** For orgUnit: the prefix that matched. */
  prefix?: string;
}

export interface RuleEvaluation {
  role: string;
  matches: boolean;
  /** Conditions the person meets. */
  because: Reason[];
  /** Conditions the person does not meet; the rule matches exactly when this is empty. */
  unmet: Reason[];
}

/** The sources a rule applies to: as written, or by default (see the policy schema). */
export function ruleSources(rule: RoleRule): ('hr' | 'education')[] {
  const m = rule.match;
  if (m.sources) return m.sources;
  return m.educationRoles || m.schoolCodes || m.grades ? ['education'] : ['hr'];
}

/** Each condition of the rule, met or not, for this person, and the verdict. */
export function evaluateRule(rule: RoleRule, record: IdentityRecord): RuleEvaluation {
  const because: Reason[] = [];
  const unmet: Reason[] = [];
  const add = (met: boolean, reason: Reason) => (met ? because : unmet).push(reason);
  const { jobCodes, orgUnitPrefixes, employmentTypes, educationRoles, schoolCodes, grades } = rule.match;
  // The source condition is implicit for most rules (hr); it is named only when it decides.
  const sources = ruleSources(rule);
  const held = sourcesOf(record);
  const sourceMet = sources.some((s) => held.includes(s));
  if (rule.match.sources || !sourceMet) {
    add(sourceMet, { attribute: 'source', value: held.join('+'), accepts: sources });
  }
  const edu = record.education;
  if (educationRoles) {
    add(!!edu && educationRoles.includes(edu.role), {
      attribute: 'educationRole',
      value: edu?.role ?? '-',
      accepts: educationRoles,
    });
  }
  if (schoolCodes) {
    add(!!edu && schoolCodes.includes(edu.schoolCode), {
      attribute: 'schoolCode',
      value: edu?.schoolCode ?? '-',
      accepts: schoolCodes,
    });
  }
  if (grades) {
    const grade = gradeOf(edu?.class);
    const inRange =
      grade !== undefined &&
      (grades.min === undefined || grade >= grades.min) &&
      (grades.max === undefined || grade <= grades.max);
    add(inRange, {
      attribute: 'grade',
      value: grade === undefined ? '-' : String(grade),
      accepts: [`${grades.min ?? 0}-${grades.max ?? ''}`],
    });
  }
  if (jobCodes) {
    add(jobCodes.includes(record.jobCode), {
      attribute: 'jobCode',
      value: record.jobCode,
      accepts: jobCodes,
    });
  }
  if (orgUnitPrefixes) {
    const prefix = orgUnitPrefixes.find((p) => record.orgUnit.startsWith(p));
    const reason: Reason = { attribute: 'orgUnit', value: record.orgUnit, accepts: orgUnitPrefixes };
    add(prefix !== undefined, prefix === undefined ? reason : { ...reason, prefix });
  }
  if (employmentTypes) {
    add(employmentTypes.includes(record.employmentType), {
      attribute: 'employmentType',
      value: record.employmentType,
      accepts: employmentTypes,
    });
  }
  return { role: rule.name, matches: unmet.length === 0, because, unmet };
}
