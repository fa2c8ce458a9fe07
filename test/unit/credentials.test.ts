import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import {
  credentialRecipient,
  handoverFor,
  handoverKey,
  languageOf,
  oneTimePassword,
} from '../../src/domain/credentials';
import type { IdentityRecord } from '../../src/domain/identity';
import { parsePolicy, PolicyError } from '../../src/domain/policy';

const policyText = fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8');
const policy = parsePolicy(policyText);

const nurse: IdentityRecord = {
  employeeId: 'E1',
  firstNames: 'Aino',
  lastName: 'Testinen',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-110',
  employmentType: 'permanent',
  startDate: '2026-12-01',
  managerId: 'E0',
};

const pupil = (grade: string): IdentityRecord => ({
  employeeId: 'S-1',
  firstNames: 'Eetu',
  lastName: 'Oppilas',
  jobTitle: 'Oppilas',
  jobCode: 'PUPIL',
  orgUnit: 'K01',
  employmentType: 'fixed_term',
  startDate: '2026-08-10',
  education: { schoolCode: 'K01', class: grade, role: 'pupil' },
  sources: ['education'],
});

describe('credential handover policy', () => {
  it('a cloud nurse gets a Temporary Access Pass for the manager, with the fallback after', () => {
    const plan = handoverFor(policy, nurse)!;
    assert.equal(plan.kind, 'temporaryAccessPass');
    assert.deepEqual(plan.temporaryAccessPass, { lifetimeMinutes: 480, usableOnce: true });
    assert.deepEqual(plan.deliverTo, ['manager', 'fallback']);
    assert.equal(plan.from, 'default');
  });

  it('a pupil in grade 3 (no cloud identity) gets a one-time password for the school contact', () => {
    const plan = handoverFor(policy, pupil('3B'))!;
    assert.equal(plan.kind, 'initialPassword');
    assert.equal(plan.initialPassword.length, 16);
    assert.deepEqual(plan.deliverTo, ['schoolContact', 'fallback']);
    assert.equal(plan.from, 'pupil');
  });

  it('a pupil in grade 8 is a cloud identity: a pass, still to the school contact', () => {
    const plan = handoverFor(policy, pupil('8A'))!;
    assert.equal(plan.kind, 'temporaryAccessPass');
    assert.deepEqual(plan.deliverTo, ['schoolContact', 'fallback']);
  });

  it('handovers turned off: no plan', () => {
    const off = parsePolicy(policyText);
    off.credentials.enabled = false;
    assert.equal(handoverFor(off, nurse), undefined);
  });

  it('a role entry naming no role, or a lifetime Graph would refuse, is refused with its path', () => {
    const raw = parsePolicy(policyText) as unknown as { credentials: Record<string, unknown> };
    raw.credentials.roles = { nurze: { deliverTo: ['manager'] } };
    assert.throws(
      () => parsePolicy(stringify(raw)),
      (e: PolicyError) => e.problems.some((p) => p.startsWith('credentials.roles.nurze')),
    );
    const long = parsePolicy(policyText);
    long.credentials.default.temporaryAccessPass.lifetimeMinutes = 5;
    assert.throws(
      () => parsePolicy(stringify(long)),
      (e: PolicyError) =>
        e.problems.some((p) => p.startsWith('credentials.default.temporaryAccessPass.lifetimeMinutes')),
    );
  });

  it('the first rule that applies wins: the manager if named, the school for a pupil, else the unit', () => {
    assert.deepEqual(credentialRecipient(['manager', 'fallback'], nurse), {
      manager: 'E0',
      unit: 'SOTE-110',
    });
    const { managerId: _, ...noManager } = nurse;
    assert.deepEqual(credentialRecipient(['manager', 'fallback'], noManager), { unit: 'SOTE-110' });
    assert.deepEqual(credentialRecipient(['schoolContact', 'fallback'], pupil('3B')), {
      school: 'K01',
      unit: 'K01',
    });
    assert.deepEqual(credentialRecipient(['schoolContact'], noManager), { unit: 'SOTE-110' });
  });

  it('keys per person and start date; language from the record, Finnish by default', () => {
    assert.equal(handoverKey('E1', '2026-12-01'), 'handover:E1:2026-12-01');
    assert.equal(languageOf({ ...nurse, language: 'sv' }), 'sv');
    assert.equal(languageOf(nurse), 'fi');
    const sv = parsePolicy(policyText);
    sv.mail!.defaultLanguage = 'sv';
    assert.equal(languageOf(nurse, sv), 'sv');
  });

  it('a one-time password has the length and all four character classes, and differs each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const pw = oneTimePassword(16, randomInt);
      assert.equal(pw.length, 16);
      for (const re of [/[A-Z]/, /[a-z]/, /[2-9]/, /[!#%+\-=?@_]/]) assert.match(pw, re);
      assert.doesNotMatch(pw, /[0O1lI]/);
      seen.add(pw);
    }
    assert.equal(seen.size, 200);
  });
});
