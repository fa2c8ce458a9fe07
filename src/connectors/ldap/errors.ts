import { ResultCodeError } from 'ldapts';
import { ErrorType } from '../../domain/error-types';

// Every failure the LDAP connector throws is a DirectoryError whose `kind` says what went wrong
// and whether retrying can help. Messages carry the operation and the LDAP result code only:
// server diagnostics echo DNs (which contain people's names), so they are never copied in.

export type DirectoryErrorKind =
  | 'unavailable'
  | 'constraint'
  | 'permission'
  | 'invalid'
  /** A uniqueness conflict: the DN, sAMAccountName or userPrincipalName is held by another object. */
  | 'alreadyExists'
  | 'noSuchObject'
  | 'duplicateIdentity'
  /** The directory refused Tunnus's own bind (49/50 on bind): wait for ops, do not fail runs. */
  | 'credentials'
  /** A result nobody classified: retried a bounded number of times, then raised to a person. */
  | 'unclassified';

export class DirectoryError extends Error {
  constructor(
    readonly kind: DirectoryErrorKind,
    message: string,
    readonly retryable: boolean,
    readonly ldapCode?: number,
    /** The schema attribute the server named (never its value): the field to fix. */
    readonly attribute?: string,
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}

/** LDAP result codes (RFC 4511 §4.1.9) the classifier and the connector refer to by name. */
export const LdapCode = {
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  adminLimitExceeded: 11,
  confidentialityRequired: 13,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  inappropriateMatching: 18,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  invalidDNSyntax: 34,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  loopDetect: 54,
  namingViolation: 64,
  objectClassViolation: 65,
  notAllowedOnNonLeaf: 66,
  notAllowedOnRDN: 67,
  entryAlreadyExists: 68,
  objectClassModsProhibited: 69,
  affectsMultipleDSAs: 71,
  other: 80,
} as const;

type Classification = { kind: DirectoryErrorKind; retryable: boolean };

const transient: Classification = { kind: 'unavailable', retryable: true };

// Decided from what Samba 4.17 actually answers (see the integration tests):
//  - 19 is the password policy ("check_password_restrictions") and a duplicate userPrincipalName
//    ("samldb: userPrincipalName ... is already in use"); only the latter is a uniqueness conflict.
//    AD answers 19 also for a value over the schema's rangeUpper ("Att 3000c (title)").
//  - 21 is Samba's answer for a value over the schema limit ("attribute 'title' ... invalid value"):
//    bad data in one field, as permanent as 19.
//  - 68 is both "entry already exists" and a duplicate sAMAccountName ("samldb: ... already in use");
//  - 80 is a rename under a parent that does not exist ("parent does not exist"): a missing OU.
//    Any other 80 is unknown, and so is a code not listed here: retried a bounded number of times.
//  - 53 is a refusal, not load: Samba uses it for removing a member that is not there and for
//    password changes over an unencrypted connection. AD signals load with 51/52, so 53 is
//    permanent here (the connector treats the membership case as success before classifying).
//  - 16 is what Samba returns for an attribute that is not in the schema (not 17).
const byCode: Record<number, Classification> = {
  [LdapCode.timeLimitExceeded]: transient,
  [LdapCode.busy]: transient,
  [LdapCode.unavailable]: transient,
  [LdapCode.loopDetect]: transient,
  [LdapCode.other]: { kind: 'unclassified', retryable: true },
  [LdapCode.constraintViolation]: { kind: 'constraint', retryable: false },
  [LdapCode.attributeOrValueExists]: { kind: 'alreadyExists', retryable: false },
  [LdapCode.objectClassViolation]: { kind: 'constraint', retryable: false },
  [LdapCode.namingViolation]: { kind: 'constraint', retryable: false },
  [LdapCode.notAllowedOnNonLeaf]: { kind: 'constraint', retryable: false },
  [LdapCode.notAllowedOnRDN]: { kind: 'constraint', retryable: false },
  [LdapCode.objectClassModsProhibited]: { kind: 'constraint', retryable: false },
  [LdapCode.unwillingToPerform]: { kind: 'constraint', retryable: false },
  [LdapCode.adminLimitExceeded]: { kind: 'constraint', retryable: false },
  [LdapCode.sizeLimitExceeded]: { kind: 'constraint', retryable: false },
  [LdapCode.entryAlreadyExists]: { kind: 'alreadyExists', retryable: false },
  [LdapCode.invalidCredentials]: { kind: 'permission', retryable: false },
  [LdapCode.insufficientAccessRights]: { kind: 'permission', retryable: false },
  [LdapCode.inappropriateAuthentication]: { kind: 'permission', retryable: false },
  [LdapCode.authMethodNotSupported]: { kind: 'permission', retryable: false },
  [LdapCode.strongerAuthRequired]: { kind: 'permission', retryable: false },
  [LdapCode.confidentialityRequired]: { kind: 'permission', retryable: false },
  [LdapCode.noSuchObject]: { kind: 'noSuchObject', retryable: false },
  [LdapCode.noSuchAttribute]: { kind: 'invalid', retryable: false },
  [LdapCode.undefinedAttributeType]: { kind: 'invalid', retryable: false },
  [LdapCode.inappropriateMatching]: { kind: 'invalid', retryable: false },
  [LdapCode.invalidAttributeSyntax]: { kind: 'constraint', retryable: false },
  [LdapCode.invalidDNSyntax]: { kind: 'invalid', retryable: false },
  [LdapCode.protocolError]: { kind: 'invalid', retryable: false },
  [LdapCode.operationsError]: { kind: 'invalid', retryable: false },
};

// Socket-level failures: Node error codes, and the plain Errors ldapts raises when the
// connection drops under a pending request or a request/connect times out.
const transientNodeCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);
const transientMessages = [
  /Connection closed before message response/i,
  /Socket error\./i,
  /Socket connection not established/i,
  /Operation timed out/i,
  /Connection timeout/i,
  /socket hang up/i,
  /Client network socket disconnected/i,
];

/** Where the call failed: on bind, 49/50 mean Tunnus's own credentials, not the operation. */
export type LdapPhase = 'bind' | 'operation';

/**
 * Maps anything ldapts or the socket throws to a DirectoryError. `operation` names the call
 * ("add", "search", …) and goes into the message; of the server's own text only a schema
 * attribute name is kept (it names the field to fix), never a DN or a value.
 */
export function classifyLdapError(
  err: unknown,
  operation = 'ldap',
  phase: LdapPhase = 'operation',
): DirectoryError {
  if (err instanceof DirectoryError) return err;
  const code = ldapResultCode(err);
  const message = err instanceof Error ? err.message : '';
  if (code !== undefined) {
    const c = classifyCode(code, message, phase);
    const attribute = attributeNamed(message, code);
    return new DirectoryError(
      c.kind,
      `${operation} failed: LDAP result ${code} (${c.kind}${attribute ? `, attribute ${attribute}` : ''})`,
      c.retryable,
      code,
      attribute,
    );
  }
  const nodeCode =
    typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
  if (transientNodeCodes.has(nodeCode) || transientMessages.some((re) => re.test(message))) {
    const what = nodeCode || 'connection lost or timed out';
    return new DirectoryError('unavailable', `${operation} failed: directory unreachable (${what})`, true);
  }
  // TLS verification failures are configuration problems: retrying will not fix a wrong CA.
  if (/CERT|ERR_TLS/.test(nodeCode) || /certificate|self[- ]signed/i.test(message)) {
    return new DirectoryError(
      'invalid',
      `${operation} failed: TLS verification (${nodeCode || 'certificate'})`,
      false,
    );
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new DirectoryError(
    'unclassified',
    `${operation} failed: unexpected ${nodeCode || name || 'error'}`,
    true,
  );
}

function classifyCode(code: number, message: string, phase: LdapPhase): Classification {
  // On bind, "invalid credentials" and "insufficient access" are about Tunnus's service account
  // (a rotated password, a locked or expired account): every run would fail alike, so they wait.
  if (
    phase === 'bind' &&
    (code === LdapCode.invalidCredentials || code === LdapCode.insufficientAccessRights)
  ) {
    return { kind: 'credentials', retryable: true };
  }
  if (code === LdapCode.constraintViolation && /already in use|not unique|duplicate/i.test(message)) {
    return { kind: 'alreadyExists', retryable: false };
  }
  if (code === LdapCode.other && /parent does not exist|no such base dn/i.test(message)) {
    return { kind: 'noSuchObject', retryable: false };
  }
  return byCode[code] ?? { kind: 'unclassified', retryable: true };
}

/** Schema names the classifier may report, in their canonical spelling (lower case → name). */
const knownAttributes = new Map(
  [
    'sAMAccountName',
    'userPrincipalName',
    'employeeID',
    'mail',
    'proxyAddresses',
    'givenName',
    'sn',
    'cn',
    'displayName',
    'title',
    'department',
    'manager',
    'telephoneNumber',
    'mobile',
    'userAccountControl',
    'pwdLastSet',
    'unicodePwd',
    'member',
    'description',
    'objectClass',
  ].map((a) => [a.toLowerCase(), a] as const),
);

/**
 * The attribute a diagnostic names, if it is one Tunnus writes. Samba: "attribute 'title' on
 * entry …", "samldb: userPrincipalName '…' is already in use", "check_password_restrictions";
 * AD: "Att 3000c (title)". Anything else (a DN, a value) is never returned.
 */
export function attributeNamed(message: string, code?: number): string | undefined {
  if (/check_password_restrictions|password/i.test(message) && code === LdapCode.constraintViolation) {
    return 'unicodePwd';
  }
  const candidates = [
    /attribute '([A-Za-z][\w-]*)'/.exec(message)?.[1],
    /\bAtt [0-9a-f]+ \(([A-Za-z][\w-]*)\)/i.exec(message)?.[1],
    /samldb: ([A-Za-z]+) '/.exec(message)?.[1],
  ];
  for (const c of candidates) {
    const known = c ? knownAttributes.get(c.toLowerCase()) : undefined;
    if (known) return known;
  }
  return undefined;
}

/** The LDAP result code of an ldapts error, or undefined for socket and other errors. */
export function ldapResultCode(err: unknown): number | undefined {
  if (err instanceof ResultCodeError) return err.code;
  return undefined;
}

/** The workflow-facing failure type for a directory error (see domain/error-types.ts). */
export function errorTypeOf(err: DirectoryError): ErrorType {
  switch (err.kind) {
    case 'unavailable':
      return ErrorType.DirectoryUnavailable;
    case 'constraint':
    case 'alreadyExists':
      return ErrorType.DirectoryConstraint;
    case 'permission':
      return ErrorType.DirectoryPermission;
    case 'duplicateIdentity':
      return ErrorType.DuplicateIdentity;
    case 'credentials':
      return ErrorType.CredentialsRejected;
    case 'unclassified':
      return ErrorType.Unclassified;
    case 'invalid':
    case 'noSuchObject':
      return ErrorType.DirectoryInvalid;
  }
}

/** True for a real uniqueness conflict on a name (or the DN): another joiner took it first. */
export function isNameConflict(err: unknown): err is DirectoryError {
  return err instanceof DirectoryError && err.kind === 'alreadyExists';
}
