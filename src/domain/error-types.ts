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
  /** Concurrent joiners kept taking the same free name first; retried with backoff. */
  NameRaceLost: 'NameRaceLost',
  /** The directory could not be reached or was busy; retrying will help. */
  DirectoryUnavailable: 'DirectoryUnavailable',
  /** Graph throttled (429) or failed (5xx, network); retried after Retry-After. */
  CloudUnavailable: 'CloudUnavailable',
  /** Graph refused the request as invalid (e.g. missing usageLocation): a bug or bad policy. */
  CloudInvalid: 'CloudInvalid',
  /** The cloud name is held by another identity. */
  CloudConflict: 'CloudConflict',
  /** The app registration lacks a Graph permission, or its credentials are wrong. */
  CloudPermission: 'CloudPermission',
  /** The policy names a licence SKU or plan the tenant does not subscribe to. */
  UnknownSku: 'UnknownSku',
  /** The telephony platform throttled or failed; retried after Retry-After. */
  PhoneUnavailable: 'PhoneUnavailable',
  /** The telephony platform refused the request (invalid, permission). */
  PhoneRejected: 'PhoneRejected',
  /** A workflow (e.g. a person's, asked for its record) could not answer now; retried. */
  TemporalUnavailable: 'TemporalUnavailable',
  /**
   * The directory or Graph refused Tunnus's own credentials (LDAP 49/50 on bind, Graph 401, no
   * token): a rotated password or secret. Retried with a long backoff and an alert, so runs wait
   * and resume once ops correct it, instead of every run in flight failing for good.
   */
  CredentialsRejected: 'CredentialsRejected',
  /**
   * The account the run works on is gone (deleted by hand) although it existed. Retried a few
   * times (replication), then non-retryable: a person must decide (recreate, or end the person).
   */
  AccountMissing: 'AccountMissing',
  /** A delete found the account enabled: deletion only ever follows an end of access. */
  AccountStillEnabled: 'AccountStillEnabled',
  /** The names of a deleted account could not be reserved; the account is not deleted then. */
  NameReservationFailed: 'NameReservationFailed',
  /**
   * The soft-deleted cloud user did not show up in (or did not leave) the recycle bin within the
   * bounded wait: the purge is not verified. Retried a few times, then non-retryable.
   */
  CloudPurgeUnverified: 'CloudPurgeUnverified',
  /** No recipient rule of the credential policy resolved to an address: nothing was issued. */
  HandoverUndeliverable: 'HandoverUndeliverable',
  /** The handover found the account disabled: no credential is issued for it. */
  HandoverNotReady: 'HandoverNotReady',
  /**
   * An exception no classifier recognised (a bug, or an answer nobody has seen yet). Retried a
   * few times with an alert, then non-retryable, so it is never an endless silent retry.
   */
  Unclassified: 'Unclassified',
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
  ErrorType.CloudInvalid,
  ErrorType.CloudConflict,
  ErrorType.CloudPermission,
  ErrorType.UnknownSku,
  ErrorType.PhoneRejected,
  ErrorType.NameReservationFailed,
  ErrorType.AccountStillEnabled,
];

/**
 * Types that are retried a bounded number of times and then raised as non-retryable by the
 * activity itself (it knows its attempt number): the retry policy must not list them.
 */
export const boundedRetryErrorTypes: ErrorType[] = [
  ErrorType.AccountMissing,
  ErrorType.CloudPurgeUnverified,
  ErrorType.Unclassified,
];

/** Attempts after which a bounded type becomes non-retryable (with the backoffs: ~30-60 s). */
export const BOUNDED_ATTEMPTS = 6;
