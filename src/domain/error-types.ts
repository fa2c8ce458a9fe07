// Failure types, named once and used on both sides: activities throw them, retry policies and
// workflows match on them. Non-retryable ones need a person (bad data, permissions, policy).

export const ErrorType = {
  /** Input failed validation; the message names the field. */
  InvalidRecord: 'InvalidRecord',
  /** Every candidate name up to the limit is taken (should never happen in practice). */
  NameCollision: 'NameCollision',
  /** The directory refused a write because it breaks a rule (constraint, schema, password policy). */
  DirectoryConstraint: 'DirectoryConstraint',
  /** The service account may not do this. */
  DirectoryPermission: 'DirectoryPermission',
  /** A DN, filter or attribute the directory could not accept (a bug or bad configuration). */
  DirectoryInvalid: 'DirectoryInvalid',
  /** Two accounts carry the same employeeID: a person must decide which one is real. */
  DuplicateIdentity: 'DuplicateIdentity',
  /** A group or OU the policy names does not exist in the directory. */
  PolicyTargetMissing: 'PolicyTargetMissing',
  /** The directory could not be reached or was busy; retrying will help. */
  DirectoryUnavailable: 'DirectoryUnavailable',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Types that retrying cannot fix. Lists them once for every retry policy. */
export const nonRetryableErrorTypes: ErrorType[] = [
  ErrorType.InvalidRecord,
  ErrorType.NameCollision,
  ErrorType.DirectoryConstraint,
  ErrorType.DirectoryPermission,
  ErrorType.DirectoryInvalid,
  ErrorType.DuplicateIdentity,
  ErrorType.PolicyTargetMissing,
];
