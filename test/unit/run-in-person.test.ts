import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Plan } from '../../src/domain/plan';
import { passFitsInPerson } from '../../src/domain/run-in-person';

// Where a joiner's run takes place (joiner-here): inside its person only when the first plan
// applies at once; anything that waits goes on in a child run of its own.

type Shape = Pick<Plan, 'phase' | 'hold' | 'changeAt' | 'services'>;
const services = (cloud: boolean): Plan['services'] =>
  ({
    cloud,
    cloudReason: cloud ? 'role nurse' : 'role office: no cloud',
    mailbox: cloud,
    licences: [],
    telephony: false,
  }) as unknown as Plan['services'];
const plan = (over: Partial<Shape> = {}): Shape => ({ phase: 'active', services: services(false), ...over });

describe('a joiner runs inside its person only when nothing waits', () => {
  it('active today, directory only: in the person', () => {
    assert.equal(passFitsInPerson(plan()), true);
  });

  it('a start date ahead (pending or pre-hire), a dated change, a hold or the cloud: a child', () => {
    assert.equal(passFitsInPerson(plan({ phase: 'pending' })), false, 'waits for the pre-hire day');
    assert.equal(passFitsInPerson(plan({ phase: 'prehire' })), false, 'waits for the start date');
    assert.equal(
      passFitsInPerson(plan({ changeAt: '2027-01-01T00:00:00.000Z' })),
      false,
      'waits for the date',
    );
    assert.equal(
      passFitsInPerson(plan({ hold: { kind: 'doubtful', reason: 'x' } as unknown as Plan['hold'] })),
      false,
      'waits for an operator',
    );
    assert.equal(passFitsInPerson(plan({ services: services(true) })), false, 'waits for the cloud');
  });

  it('an end already past (left, deleted) is never ended inside a joiner pass', () => {
    assert.equal(passFitsInPerson(plan({ phase: 'left' })), false);
    assert.equal(passFitsInPerson(plan({ phase: 'deleted' })), false);
  });
});
