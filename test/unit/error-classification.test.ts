import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphError } from '@microsoft/microsoft-graph-client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { UnknownStatusCodeError } from 'ldapts';
import { credentialsRetryDelayMs, toFailure } from '../../src/activities/failures';
import { classifyGraphError } from '../../src/connectors/graph/errors';
import { classifyLdapError, isNameConflict, type LdapPhase } from '../../src/connectors/ldap/errors';
import { BOUNDED_ATTEMPTS, ErrorType, nonRetryableErrorTypes } from '../../src/domain/error-types';

// The classifiers as tables: what AD/Samba and Graph answer → the failure type ops see, and
// whether Temporal retries it. Diagnostics are the texts Samba 4.17 really sends (see
// test/integration/directory.test.ts), with the DNs and values that would name people.

const ldap = (code: number, message = '') => new UnknownStatusCodeError(code, message);

/** The failure an activity throws for the error, on the given attempt. */
async function failureOn(err: unknown, attempt = 1): Promise<ApplicationFailure> {
  const env = new MockActivityEnvironment({ attempt });
  const f = await env.run(async () => toFailure(err));
  assert.ok(f instanceof ApplicationFailure, 'an ApplicationFailure');
  return f;
}

describe('LDAP result codes → failure types', () => {
  const cases: {
    code: number;
    message?: string;
    phase?: LdapPhase;
    type: ErrorType;
    retried: boolean;
    attribute?: string;
    nameConflict?: boolean;
  }[] = [
    // The service account: waits for ops, alerting, instead of failing every run.
    {
      code: 49,
      phase: 'bind',
      message: 'AcceptSecurityContext error, data 52e',
      type: ErrorType.CredentialsRejected,
      retried: true,
    },
    { code: 50, phase: 'bind', type: ErrorType.CredentialsRejected, retried: true },
    // The same codes on an operation: no right to do this one thing — permanent.
    {
      code: 50,
      message: "acl: attribute 'title' on entry 'CN=x' — insufficient access",
      type: ErrorType.DirectoryPermission,
      retried: false,
      attribute: 'title',
    },
    { code: 49, type: ErrorType.DirectoryPermission, retried: false },
    // Real uniqueness conflicts, and only they, are name races.
    {
      code: 68,
      message: "00002071: samldb: samAccountName 'x' already in use!",
      type: ErrorType.DirectoryConstraint,
      retried: false,
      attribute: 'sAMAccountName',
      nameConflict: true,
    },
    {
      code: 68,
      message: 'Entry CN=x,CN=Users,DC=kerava,DC=test already exists',
      type: ErrorType.DirectoryConstraint,
      retried: false,
      nameConflict: true,
    },
    {
      code: 19,
      message: "0000202F: samldb: userPrincipalName 'x@kerava.test' is already in use",
      type: ErrorType.DirectoryConstraint,
      retried: false,
      attribute: 'userPrincipalName',
      nameConflict: true,
    },
    { code: 20, type: ErrorType.DirectoryConstraint, retried: false, nameConflict: true },
    // Other constraints: permanent, naming the field.
    {
      code: 19,
      message: '0000052D: Constraint violation - check_password_restrictions: the password is too short',
      type: ErrorType.DirectoryConstraint,
      retried: false,
      attribute: 'unicodePwd',
      nameConflict: false,
    },
    {
      code: 19,
      message:
        '00002082: AtrErr: DSID-03151904, #1:\n\t0: 00002082: DSID-03151904, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 3000c (title):len 400',
      type: ErrorType.DirectoryConstraint,
      retried: false,
      attribute: 'title',
      nameConflict: false,
    },
    {
      code: 21,
      message:
        "0000200B: objectclass_attrs: attribute 'department' on entry 'CN=x' contains at least one invalid value!",
      type: ErrorType.DirectoryConstraint,
      retried: false,
      attribute: 'department',
    },
    { code: 53, type: ErrorType.DirectoryConstraint, retried: false },
    { code: 32, type: ErrorType.DirectoryInvalid, retried: false },
    {
      code: 80,
      message: '00002095: objectclass: Cannot rename CN=x, parent does not exist!',
      type: ErrorType.DirectoryInvalid,
      retried: false,
    },
    { code: 34, type: ErrorType.DirectoryInvalid, retried: false },
    // Load and outages: retried without limit.
    { code: 51, type: ErrorType.DirectoryUnavailable, retried: true },
    { code: 52, type: ErrorType.DirectoryUnavailable, retried: true },
    { code: 3, type: ErrorType.DirectoryUnavailable, retried: true },
    // Unknown: retried a bounded number of times.
    { code: 80, message: 'something nobody has seen', type: ErrorType.Unclassified, retried: true },
    { code: 4711, type: ErrorType.Unclassified, retried: true },
  ];
  for (const c of cases) {
    const label = `LDAP ${c.code}${c.phase === 'bind' ? ' on bind' : ''}${c.message ? ` "${c.message.slice(0, 40)}…"` : ''}`;
    it(`${label} → ${c.type}, ${c.retried ? 'retried' : 'not retried'}`, async () => {
      const e = classifyLdapError(ldap(c.code, c.message), 'createAccount', c.phase);
      const f = await failureOn(e);
      assert.equal(f.type, c.type);
      assert.equal(f.nonRetryable, !c.retried);
      assert.equal(e.attribute, c.attribute);
      if (c.attribute) assert.match(f.message, new RegExp(`attribute ${c.attribute}`));
      if (c.nameConflict !== undefined) assert.equal(isNameConflict(e), c.nameConflict);
      // Never a DN or value from the diagnostic.
      assert.doesNotMatch(f.message, /CN=|kerava\.test/);
      if (!c.retried) assert.ok(nonRetryableErrorTypes.includes(c.type), 'retry policies list it');
    });
  }
});

describe('Graph answers → failure types', () => {
  const graph = (status: number, code: string, message = '') =>
    Object.assign(new GraphError(status, message), { code, body: JSON.stringify({ code, message }) });
  const cases: { status: number; code: string; message?: string; type: ErrorType; retried: boolean }[] = [
    { status: 401, code: 'InvalidAuthenticationToken', type: ErrorType.CredentialsRejected, retried: true },
    { status: 403, code: 'Authorization_RequestDenied', type: ErrorType.CloudPermission, retried: false },
    { status: 429, code: 'TooManyRequests', type: ErrorType.CloudUnavailable, retried: true },
    { status: 503, code: 'ServiceUnavailable', type: ErrorType.CloudUnavailable, retried: true },
    { status: 504, code: 'GatewayTimeout', type: ErrorType.CloudUnavailable, retried: true },
    { status: 404, code: 'Request_ResourceNotFound', type: ErrorType.CloudInvalid, retried: false },
    { status: 409, code: 'Conflict', type: ErrorType.CloudConflict, retried: false },
    {
      status: 400,
      code: 'Request_BadRequest',
      message: "Invalid value specified for property 'showInAddressList' of resource 'User'.",
      type: ErrorType.CloudInvalid,
      retried: false,
    },
  ];
  for (const c of cases) {
    it(`Graph ${c.status} ${c.code} → ${c.type}, ${c.retried ? 'retried' : 'not retried'}`, async () => {
      const f = await failureOn(classifyGraphError(graph(c.status, c.code, c.message), 'updateUser'));
      assert.equal(f.type, c.type);
      assert.equal(f.nonRetryable, !c.retried);
    });
  }

  it('a token the identity library could not get is rejected credentials, retried', async () => {
    const err = Object.assign(new Error('AADSTS7000215: Invalid client secret provided.'), {
      name: 'AuthenticationError',
    });
    const f = await failureOn(classifyGraphError(err, 'getUser'));
    assert.equal(f.type, ErrorType.CredentialsRejected);
    assert.equal(f.nonRetryable, false);
    assert.doesNotMatch(f.message, /AADSTS/);
  });

  it('a refused property names the field in the failure details', async () => {
    const f = await failureOn(
      classifyGraphError(
        graph(
          400,
          'Request_BadRequest',
          "Invalid value specified for property 'showInAddressList' of resource 'User'.",
        ),
      ),
    );
    assert.deepEqual(f.details, [{ field: 'showInAddressList' }]);
  });
});

describe('waiting, bounded and escalating failures', () => {
  it('rejected credentials wait long, growing to 5 minutes, and stay retryable', async () => {
    const e = classifyLdapError(ldap(49), 'findByEmployeeId (bind)', 'bind');
    for (const attempt of [1, 2, 5, 50]) {
      const f = await failureOn(e, attempt);
      assert.equal(f.type, ErrorType.CredentialsRejected);
      assert.equal(f.nonRetryable, false);
      assert.equal(f.nextRetryDelay, credentialsRetryDelayMs(attempt));
    }
    assert.equal(credentialsRetryDelayMs(1), 15_000);
    assert.equal(credentialsRetryDelayMs(50), 300_000);
  });

  it('an unknown exception is retried, then non-retryable after the bounded attempts', async () => {
    const early = await failureOn(new TypeError('x is undefined'), 1);
    assert.equal(early.type, ErrorType.Unclassified);
    assert.equal(early.nonRetryable, false);
    assert.doesNotMatch(early.message, /undefined/, 'the message of an unknown error is not copied');
    const late = await failureOn(new TypeError('x is undefined'), BOUNDED_ATTEMPTS);
    assert.equal(late.type, ErrorType.Unclassified);
    assert.equal(late.nonRetryable, true);
    assert.match(late.message, /gave up after/);
  });

  it('bounded types are not listed as non-retryable (the activity decides by attempt)', () => {
    for (const t of [ErrorType.AccountMissing, ErrorType.Unclassified, ErrorType.CloudPurgeUnverified]) {
      assert.ok(!nonRetryableErrorTypes.includes(t), t);
    }
    assert.ok(!nonRetryableErrorTypes.includes(ErrorType.CredentialsRejected));
  });
});
