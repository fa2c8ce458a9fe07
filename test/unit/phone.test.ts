import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  adPhoneAttributes,
  cloudPhoneFields,
  diffAdPhone,
  diffCloudPhone,
  latestPerEmployee,
  planPhoneSync,
  type PhoneNumber,
} from '../../src/domain/phone';
import {
  errorFromNetwork,
  errorFromResponse,
  kindForStatus,
  parseRetryAfter,
} from '../../src/connectors/phone/errors';

const work = (e164: string, primary = false): PhoneNumber => ({ type: 'work', e164, primary });
const mobile = (e164: string, primary = false): PhoneNumber => ({ type: 'mobile', e164, primary });

describe('phone numbers to AD attributes', () => {
  it('telephoneNumber is the primary work number and mobile the primary mobile number', () => {
    const numbers = [work('+35891000001'), work('+35891000002', true), mobile('+358401000001', true)];
    assert.deepEqual(adPhoneAttributes(numbers), {
      telephoneNumber: '+35891000002',
      mobile: '+358401000001',
    });
  });

  it('when no number of a type is marked primary, the first of that type is used', () => {
    assert.deepEqual(
      adPhoneAttributes([mobile('+358401000009'), work('+35891000003'), work('+35891000004')]),
      {
        telephoneNumber: '+35891000003',
        mobile: '+358401000009',
      },
    );
  });

  it('a person without numbers has neither attribute', () => {
    assert.deepEqual(adPhoneAttributes([]), {});
  });
});

describe('phone numbers to cloud fields', () => {
  const numbers = [work('+35891000001'), mobile('+358401000001'), work('+35891000002', true)];

  it('businessPhones holds the primary work number (Graph accepts one) and mobilePhone the primary mobile', () => {
    assert.deepEqual(cloudPhoneFields(numbers), {
      businessPhones: ['+35891000002'],
      mobilePhone: '+358401000001',
    });
  });

  it('with a higher limit businessPhones lists every work number, primary first', () => {
    assert.deepEqual(cloudPhoneFields(numbers, { maxBusinessPhones: 5 }).businessPhones, [
      '+35891000002',
      '+35891000001',
    ]);
  });

  it('a person without numbers gets an empty businessPhones and a null mobilePhone', () => {
    assert.deepEqual(cloudPhoneFields([]), { businessPhones: [], mobilePhone: null });
  });
});

describe('AD phone diff', () => {
  it('values already in AD are not written again', () => {
    assert.deepEqual(
      diffAdPhone({ telephoneNumber: '+35891000001' }, { telephoneNumber: '+35891000001' }),
      {},
    );
  });

  it('a number that differs only in formatting counts as the same', () => {
    assert.deepEqual(
      diffAdPhone({ telephoneNumber: '+35891000001' }, { telephoneNumber: '+358 9 100 0001' }),
      {},
    );
  });

  it('a changed number is written and a number no longer assigned is cleared', () => {
    const change = diffAdPhone(
      { telephoneNumber: '+35891000009' },
      { telephoneNumber: '+35891000001', mobile: '+358401' },
    );
    assert.deepEqual(change, { telephoneNumber: '+35891000009', mobile: undefined });
    assert.ok('mobile' in change, 'clearing is expressed by a present key with an undefined value');
  });

  it('an empty string in AD counts as no value', () => {
    assert.deepEqual(diffAdPhone({}, { telephoneNumber: '', mobile: ' ' }), {});
  });
});

describe('cloud phone diff', () => {
  it('unchanged fields give an empty PATCH', () => {
    assert.deepEqual(
      diffCloudPhone(
        { businessPhones: ['+35891000001'], mobilePhone: '+358401000001' },
        { businessPhones: ['+358 9 1000 001'], mobilePhone: '+358401000001' },
      ),
      {},
    );
  });

  it('a changed mobile is patched alone; a removed one becomes null', () => {
    assert.deepEqual(
      diffCloudPhone(
        { businessPhones: [], mobilePhone: '+358401000002' },
        { businessPhones: [], mobilePhone: '+358401000001' },
      ),
      { mobilePhone: '+358401000002' },
    );
    assert.deepEqual(
      diffCloudPhone({ businessPhones: [], mobilePhone: null }, { mobilePhone: '+358401000001' }),
      {
        mobilePhone: null,
      },
    );
  });

  it('a different order of businessPhones is a change (the first one is shown)', () => {
    assert.deepEqual(
      diffCloudPhone(
        { businessPhones: ['+35891000002', '+35891000001'], mobilePhone: null },
        { businessPhones: ['+35891000001', '+35891000002'], mobilePhone: null },
      ),
      { businessPhones: ['+35891000002', '+35891000001'] },
    );
  });

  it('fields the cloud user has never had are treated as empty', () => {
    assert.deepEqual(diffCloudPhone({ businessPhones: [], mobilePhone: null }, {}), {});
  });
});

describe('phone sync plan', () => {
  it('when the platform changes a mobile number, only mobile and mobilePhone are written', () => {
    const numbers = [work('+35891000001', true), mobile('+358401000002', true)];
    const plan = planPhoneSync(numbers, {
      ad: { telephoneNumber: '+35891000001', mobile: '+358401000001' },
      cloud: { businessPhones: ['+35891000001'], mobilePhone: '+358401000001' },
    });
    assert.deepEqual(plan, {
      ad: { mobile: '+358401000002' },
      cloud: { mobilePhone: '+358401000002' },
      inSync: false,
    });
  });

  it('when everything already agrees, the plan is in sync and writes nothing', () => {
    const plan = planPhoneSync([work('+35891000001', true)], {
      ad: { telephoneNumber: '+35891000001' },
      cloud: { businessPhones: ['+35891000001'], mobilePhone: null },
    });
    assert.equal(plan.inSync, true);
  });
});

describe('changes feed collapsing', () => {
  it('keeps the last change per employee, ordered by when that last change happened', () => {
    const changes = [
      { employeeId: 'E1', sequence: 1 },
      { employeeId: 'E2', sequence: 2 },
      { employeeId: 'E1', sequence: 3 },
    ];
    assert.deepEqual(latestPerEmployee(changes), [
      { employeeId: 'E2', sequence: 2 },
      { employeeId: 'E1', sequence: 3 },
    ]);
  });
});

describe('telephony error classification', () => {
  it('Retry-After in seconds and as an HTTP date both become milliseconds', () => {
    const now = Date.parse('2025-03-01T08:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter('Sat, 01 Mar 2025 08:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Sat, 01 Mar 2025 07:59:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('statuses map to kinds: 429 throttled, 5xx unavailable, 401/403 permission, 400/422 invalid', () => {
    assert.deepEqual([429, 500, 502, 503, 504, 401, 403, 400, 422, 404, 412, 409].map(kindForStatus), [
      'throttled',
      'unavailable',
      'unavailable',
      'unavailable',
      'unavailable',
      'permission',
      'permission',
      'invalid',
      'invalid',
      'notFound',
      'conflict',
      'conflict',
    ]);
  });

  it('a 429 is retryable and carries its Retry-After; a 422 is final and names the fields, not values', () => {
    const throttled = errorFromResponse('GET person numbers', 429, { retryAfter: '2' }, 'too_many_requests');
    assert.deepEqual(
      [throttled.kind, throttled.retryable, throttled.retryAfterMs],
      ['throttled', true, 2000],
    );
    const invalid = errorFromResponse('PUT catalogue entry', 422, {}, 'validation_failed', ['email', 'unit']);
    assert.deepEqual(
      [invalid.kind, invalid.retryable, invalid.fields],
      ['invalid', false, ['email', 'unit']],
    );
    assert.equal(
      invalid.message,
      'telephony PUT catalogue entry: HTTP 422 (validation_failed; fields: email, unit)',
    );
  });

  it('connection errors are retried, certificate errors are not', () => {
    const refused = errorFromNetwork(
      'GET number changes',
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    );
    assert.deepEqual([refused.kind, refused.retryable], ['unavailable', true]);
    const untrusted = errorFromNetwork('GET number changes', { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    assert.deepEqual([untrusted.kind, untrusted.retryable], ['unavailable', false]);
    assert.match(untrusted.message, /TLS certificate not trusted/);
  });
});
