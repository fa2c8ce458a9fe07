import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toFailure } from '../../src/activities/failures';
import { CloudError, type CloudErrorKind } from '../../src/connectors/graph/errors';
import { DirectoryError } from '../../src/connectors/ldap/errors';
import { PhoneError } from '../../src/connectors/phone/errors';
import { ErrorType, nonRetryableErrorTypes } from '../../src/domain/error-types';
import { NamingError } from '../../src/domain/naming';

// Every connector failure becomes a typed Temporal failure: retried (with the server's
// Retry-After as the next delay), or non-retryable with a type ops can act on.

const failure = (err: unknown) => {
  const f = toFailure(err);
  assert.ok(f instanceof ApplicationFailure, 'an ApplicationFailure');
  return f;
};

describe('failure classification', () => {
  const cloudCases: [CloudErrorKind, boolean, string, boolean][] = [
    ['throttled', true, ErrorType.CloudUnavailable, false],
    ['unavailable', true, ErrorType.CloudUnavailable, false],
    ['invalid', false, ErrorType.CloudInvalid, true],
    ['conflict', false, ErrorType.CloudConflict, true],
    ['permission', false, ErrorType.CloudPermission, true],
    ['unknownSku', false, ErrorType.UnknownSku, true],
    ['notFound', false, ErrorType.CloudInvalid, true],
    ['noSeats', false, ErrorType.CloudUnavailable, false],
  ];
  for (const [kind, retryable, type, nonRetryable] of cloudCases) {
    it(`Graph ${kind} becomes ${type}, ${nonRetryable ? 'not retried' : 'retried'}`, () => {
      const f = failure(new CloudError(`op: ${kind}`, { kind, retryable, retryAfterMs: 2500 }));
      assert.equal(f.type, type);
      assert.equal(f.nonRetryable, nonRetryable);
      assert.equal(nonRetryableErrorTypes.includes(type as ErrorType), nonRetryable, 'retry policies agree');
    });
  }

  it("Graph's Retry-After becomes the next retry delay", () => {
    const f = failure(
      new CloudError('throttled', { kind: 'throttled', retryable: true, retryAfterMs: 7000 }),
    );
    assert.equal(f.nextRetryDelay, 7000);
  });

  it('a retryable conflict (user not readable yet) is retried', () => {
    const f = failure(new CloudError('lag', { kind: 'conflict', retryable: true }));
    assert.equal(f.type, ErrorType.CloudUnavailable);
    assert.equal(f.nonRetryable, false);
  });

  it('telephony throttling is retried after Retry-After; a rejected request is not', () => {
    const throttled = failure(new PhoneError('throttled', 'slow down', { retryAfterMs: 3000 }));
    assert.equal(throttled.type, ErrorType.PhoneUnavailable);
    assert.equal(throttled.nonRetryable, false);
    assert.equal(throttled.nextRetryDelay, 3000);
    const rejected = failure(new PhoneError('invalid', 'bad request'));
    assert.equal(rejected.type, ErrorType.PhoneRejected);
    assert.equal(rejected.nonRetryable, true);
  });

  it('an unreachable directory is retried; a constraint violation is not', () => {
    assert.equal(failure(new DirectoryError('unavailable', 'down', true)).nonRetryable, false);
    const c = failure(new DirectoryError('constraint', 'weak password', false));
    assert.equal(c.type, ErrorType.DirectoryConstraint);
    assert.equal(c.nonRetryable, true);
  });

  it('a name that transliterates to nothing is an InvalidRecord naming the field', () => {
    const f = failure(new NamingError('lastName', 'has no letters a-z after transliteration'));
    assert.equal(f.type, ErrorType.InvalidRecord);
    assert.match(f.message, /^lastName: /);
    assert.equal(f.nonRetryable, true);
  });
});
