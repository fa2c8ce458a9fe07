import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { IdentityRow } from '../../src/domain/identity-row';
import { createSeatCounter } from '../../src/domain/licence-seats';
import { entitlementsFor, parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';

// `tunnus licences` counts from the identity read model: seats held are the rows' entitlements
// (what the last completed run left), and a run under way whose grant names a SKU the person holds
// no seat of waits for one. Leavers, deleted people and staff rows waiting for HR hold nothing.

const policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));
const nurse: HrRecord = {
  employeeId: 'E1',
  firstNames: 'Aino',
  lastName: 'Testinen',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-110',
  employmentType: 'permanent',
  startDate: '2020-01-01',
};
const grant = entitlementsFor(policy, nurse);
const sku = grant.licences[0]!.sku;

function row(id: string, extra: Partial<IdentityRow>): IdentityRow {
  return {
    identityId: id,
    chain: '2026-01-01T00:00:00.000Z',
    version: 1,
    updatedAt: '2026-01-01T00:00:00.000Z',
    stage: 'active',
    sources: ['hr'],
    records: { hr: { ...nurse, employeeId: id } },
    record: { ...nurse, employeeId: id },
    recordVersion: 1,
    handledVersion: 1,
    recordsReceived: 1,
    duplicatesIgnored: 0,
    runs: [
      {
        workflowId: `joiner-${id}-1`,
        kind: 'joiner',
        startedAt: '2026-01-01T00:00:00Z',
        endedAt: '2026-01-01T00:01:00Z',
        outcome: 'completed',
      },
    ],
    ...extra,
  };
}
const held = { ou: 'x', groups: [], licences: [sku], mailbox: true, cloud: true, roles: [], forVersion: 1 };

describe('seats per SKU from the read model', () => {
  it('counts held seats from entitlements and runs under way that need one', () => {
    assert.ok(grant.cloud, 'the sample nurse is a cloud identity with a licence');
    const counter = createSeatCounter(policy);
    counter.add([
      row('E1', { entitlements: held }),
      row('E2', { entitlements: held }),
      // A joiner whose run is under way: no entitlements yet, the grant names the SKU.
      row('E3', {
        stage: 'joining',
        runs: [{ workflowId: 'joiner-E3-1', kind: 'joiner', startedAt: '2026-01-02T00:00:00Z' }],
      }),
      // A run under way for someone already holding it: not waiting.
      row('E4', {
        entitlements: held,
        runs: [{ workflowId: 'mover-E4-2', kind: 'mover', startedAt: '2026-01-02T00:00:00Z' }],
      }),
    ]);
    // Pages add up.
    counter.add([row('E5', { entitlements: held })]);
    assert.deepEqual(counter.counts().get(sku), { assigned: 4, waiting: 1 });
  });

  it('a deleted person and a staff row waiting for HR hold no seat', () => {
    const counter = createSeatCounter(policy);
    const { record: _r, ...noRecord } = row('E7', { entitlements: held });
    counter.add([row('E6', { phase: 'deleted', entitlements: held }), noRecord]);
    assert.equal(counter.counts().get(sku), undefined);
  });
});
