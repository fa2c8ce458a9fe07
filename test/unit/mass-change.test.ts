import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guardVerdict } from '../../src/domain/mass-change';
import { parsePolicy } from '../../src/domain/policy';

const base = { managedIdentities: 100, disables: 0, deletes: 0, thresholdPercent: 5 };

describe('mass-change guard', () => {
  it('disabling 10 % of the managed identities needs approval, with the counts', () => {
    const v = guardVerdict({ ...base, disables: 10 });
    assert.equal(v.verdict, 'needsApproval');
    assert.equal(v.percent, 10);
    assert.equal(v.disables, 10);
    assert.equal(v.managedIdentities, 100);
    assert.ok(
      v.verdict === 'needsApproval' && /disable 10 and delete 0 of 100 .*10 %, threshold 5 %/.test(v.reason),
    );
  });

  it('exactly at the threshold is ok; one more is not', () => {
    assert.equal(guardVerdict({ ...base, disables: 5 }).verdict, 'ok');
    assert.equal(guardVerdict({ ...base, disables: 6 }).verdict, 'needsApproval');
  });

  it('disables and deletes count together', () => {
    assert.equal(guardVerdict({ ...base, disables: 3, deletes: 3 }).verdict, 'needsApproval');
    assert.equal(guardVerdict({ ...base, disables: 3, deletes: 2 }).verdict, 'ok');
  });

  it('is compared exactly, not on the rounded percentage', () => {
    // 51 of 1,010 is 5.0495… %: rounds to 5 % but is over a 5 % threshold.
    const v = guardVerdict({ managedIdentities: 1010, disables: 51, deletes: 0, thresholdPercent: 5 });
    assert.equal(v.percent, 5);
    assert.equal(v.verdict, 'needsApproval');
  });

  it('nothing to disable is ok, even with no managed identities; anything against none is 100 %', () => {
    assert.equal(guardVerdict({ ...base, managedIdentities: 0 }).verdict, 'ok');
    const v = guardVerdict({ ...base, managedIdentities: 0, disables: 1 });
    assert.equal(v.verdict, 'needsApproval');
    assert.equal(v.percent, 100);
  });

  it('a threshold of 0 asks for any disable; 100 never asks', () => {
    assert.equal(guardVerdict({ ...base, disables: 1, thresholdPercent: 0 }).verdict, 'needsApproval');
    assert.equal(guardVerdict({ ...base, disables: 100, thresholdPercent: 100 }).verdict, 'ok');
  });
});

describe('policy safety.massChangeThresholdPercent', () => {
  const minimal = `
naming: { upnDomain: kerava.test, mailDomain: kerava.fi }
ous: { default: "OU=Staff", disabled: "OU=Disabled" }
roles: [{ name: all }]
`;
  it('defaults to 5 and takes a configured value', () => {
    assert.equal(parsePolicy(minimal).safety.massChangeThresholdPercent, 5);
    assert.equal(
      parsePolicy(`${minimal}safety: { massChangeThresholdPercent: 2.5 }\n`).safety
        .massChangeThresholdPercent,
      2.5,
    );
  });
  it('rejects a share over 100 naming the path', () => {
    assert.throws(
      () => parsePolicy(`${minimal}safety: { massChangeThresholdPercent: 150 }\n`),
      /safety\.massChangeThresholdPercent/,
    );
  });
});
