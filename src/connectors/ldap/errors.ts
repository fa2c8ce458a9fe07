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
  | 'alreadyExists'
  | 'noSuchObject'
  | 'duplicateIdentity';

export class DirectoryError extends Error {
  constructor(
    readonly kind: DirectoryErrorKind,
    message: string,
    readonly retryable: boolean,
    readonly ldapCode?: number,
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
//  - 19 is the password policy ("check_password_restrictions") and a duplicate userPrincipalName;
//  - 68 is both "entry already exists" and a duplicate sAMAccountName ("samldb: ... already in use");
//  - 53 is a refusal, not load: Samba uses it for removing a member that is not there and for
//    password changes over an unencrypted connection. AD signals load with 51/52, so 53 is
//    permanent here (the connector treats the membership case as success before classifying).
//  - 16 is what Samba returns for an attribute that is not in the schema (not 17).
const byCode: Record<number, Classification> = {
  [LdapCode.timeLimitExceeded]: transient,
  [LdapCode.busy]: transient,
  [LdapCode.unavailable]: transient,
  [LdapCode.loopDetect]: transient,
  [LdapCode.other]: transient,
  [LdapCode.constraintViolation]: { kind: 'constraint', retryable: false },
  [LdapCode.attributeOrValueExists]: { kind: 'constraint', retryable: false },
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
  [LdapCode.invalidAttributeSyntax]: { kind: 'invalid', retryable: false },
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

/**
 * Maps anything ldapts or the socket throws to a DirectoryError. `operation` names the call
 * ("add", "search", …) and goes into the message; the server's own text does not.
 */
export function classifyLdapError(err: unknown, operation = 'ldap'): DirectoryError {
  if (err instanceof DirectoryError) return err;
  const code = ldapResultCode(err);
  if (code !== undefined) {
    const c = byCode[code] ?? { kind: 'invalid', retryable: false };
    return new DirectoryError(
      c.kind,
      `${operation} failed: LDAP result ${code} (${c.kind})`,
      c.retryable,
      code,
    );
  }
  const nodeCode =
    typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
  const message = err instanceof Error ? err.message : '';
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
  return new DirectoryError('invalid', `${operation} failed: ${nodeCode || 'unexpected error'}`, false);
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
    case 'invalid':
    case 'noSuchObject':
      return ErrorType.DirectoryInvalid;
  }
}
