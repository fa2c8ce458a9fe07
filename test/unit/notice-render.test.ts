import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  chooseRecipients,
  fallbackMailbox,
  noticeRequestSchema,
  type MailPolicy,
} from '../../src/domain/notice-recipients';
import {
  NoticeError,
  NoticeErrorType,
  isSecretTemplate,
  noticeLanguages,
  parseNoticeCatalogue,
  renderNotice,
} from '../../src/domain/notices';
import * as events from '../../src/domain/notice-events';
import { parsePolicy } from '../../src/domain/policy';

const catalogue = parseNoticeCatalogue(
  fs.readFileSync(path.join(__dirname, '..', '..', 'config', 'notices.yaml'), 'utf8'),
);
const policy = parsePolicy(
  fs.readFileSync(path.join(__dirname, '..', '..', 'config', 'policy.yaml'), 'utf8'),
);
const mail: MailPolicy = policy.mail!;

const readyVars = {
  displayName: 'Aino Aalto',
  employeeId: 'E1001',
  username: 'aino.aalto',
  email: 'aino.aalto@kerava.fi',
  startDate: '2026-12-01',
};

const rejectsWith = (fn: () => unknown, type: string, field?: string) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof NoticeError, String(err));
    assert.equal(err.type, type);
    if (field !== undefined) assert.equal(err.field, field);
    return true;
  });

describe('notice templates (config/notices.yaml)', () => {
  it('holds every template the issue names, in fi, sv and en', () => {
    for (const id of [
      'account-ready',
      'credential',
      'credential-password',
      'leaver-reminder',
      'leaver-access-ended',
      'licence-wait',
      'run-failed',
      'mass-change-held',
      'end-of-access-retrying',
      'cleanup-report',
    ]) {
      const t = catalogue.templates[id];
      assert.ok(t, id);
      for (const lang of noticeLanguages) assert.ok(t[lang], `${id}.${lang}`);
    }
    assert.equal(isSecretTemplate(catalogue, 'credential'), true);
    assert.equal(isSecretTemplate(catalogue, 'account-ready'), false);
  });

  it('renders in the asked language, values in place, one-line subject', () => {
    const fi = renderNotice(catalogue, { template: 'account-ready', language: 'fi', vars: readyVars });
    assert.equal(fi.language, 'fi');
    assert.equal(fi.subject, 'Käyttäjätunnus valmis: Aino Aalto aloittaa 2026-12-01');
    assert.match(fi.body, /Käyttäjätunnus: aino\.aalto/);
    assert.match(fi.body, /Sähköposti:\s+aino\.aalto@kerava\.fi/);
    assert.doesNotMatch(fi.body, /\{[a-zA-Z]+\}/, 'no placeholder left');
    const sv = renderNotice(catalogue, { template: 'account-ready', language: 'sv', vars: readyVars });
    assert.match(sv.subject, /^Användarkonto klart/);
    const en = renderNotice(catalogue, { template: 'account-ready', vars: readyVars });
    assert.equal(en.language, 'en');
    const multiLine = renderNotice(catalogue, {
      template: 'account-ready',
      vars: { ...readyVars, displayName: 'Aino\r\nBcc: x@evil.test' },
    });
    assert.doesNotMatch(multiLine.subject, /[\r\n]/);
  });

  it('falls back to English when a template lacks the language', () => {
    const only = parseNoticeCatalogue(`
templates:
  hello:
    vars: [name]
    en: { subject: 'Hi {name}', body: 'Hello {name}' }
`);
    const out = renderNotice(only, { template: 'hello', language: 'sv', vars: { name: 'Eva' } });
    assert.equal(out.language, 'en');
    assert.equal(out.subject, 'Hi Eva');
  });

  it('names a missing variable, an unknown template, and refuses undeclared placeholders at load', () => {
    const { startDate: _omit, ...noStart } = readyVars;
    rejectsWith(
      () => renderNotice(catalogue, { template: 'account-ready', vars: noStart }),
      NoticeErrorType.VariableMissing,
      'startDate',
    );
    rejectsWith(
      () => renderNotice(catalogue, { template: 'account-ready', vars: { ...readyVars, email: ' ' } }),
      NoticeErrorType.VariableMissing,
      'email',
    );
    rejectsWith(
      () => renderNotice(catalogue, { template: 'no-such', vars: {} }),
      NoticeErrorType.TemplateUnknown,
      'no-such',
    );
    assert.throws(
      () =>
        parseNoticeCatalogue(`
templates:
  typo:
    vars: [name]
    en: { subject: 'Hi {nmae}', body: 'x' }
`),
      /templates\.typo\.en\.subject: uses \{nmae\}/,
    );
    assert.throws(
      () =>
        parseNoticeCatalogue(`
templates:
  leak:
    vars: [secret]
    en: { subject: 'Your pass {secret}', body: 'x' }
`),
      /never carry \{secret\}/,
    );
  });

  it('fills {secret} only when given by the issuing code, never from vars', () => {
    const vars = { displayName: 'Aino Aalto', username: 'aino.aalto', validFrom: 'a', validUntil: 'b' };
    rejectsWith(
      () => renderNotice(catalogue, { template: 'credential', vars }),
      NoticeErrorType.SecretMisuse,
    );
    rejectsWith(
      () => renderNotice(catalogue, { template: 'credential', vars: { ...vars, secret: 'x' }, secret: 'y' }),
      NoticeErrorType.SecretMisuse,
      'secret',
    );
    rejectsWith(
      () => renderNotice(catalogue, { template: 'account-ready', vars: readyVars, secret: 'z' }),
      NoticeErrorType.SecretMisuse,
    );
    const out = renderNotice(catalogue, {
      template: 'credential',
      language: 'fi',
      vars,
      secret: 'Pa55-word!',
      notes: ['earlierVoid'],
    });
    assert.match(out.body, /Pääsykoodi:\s+Pa55-word!/);
    assert.doesNotMatch(out.subject, /Pa55/);
    assert.ok(out.body.startsWith('Tämä korvaa aiemmin'), 'the note comes first');
  });
});

describe('notice recipients', () => {
  it('picks the fallback mailbox by the longest orgUnit prefix, else default', () => {
    const m: MailPolicy = {
      ...mail,
      fallbackMailboxes: { default: 'd@kerava.fi', SOTE: 's@kerava.fi', 'SOTE-HOIVA': 'h@kerava.fi' },
    };
    assert.equal(fallbackMailbox(m, 'SOTE-HOIVA-12'), 'h@kerava.fi');
    assert.equal(fallbackMailbox(m, 'sote-ensihoito'), 's@kerava.fi');
    assert.equal(fallbackMailbox(m, 'TEKN-01'), 'd@kerava.fi');
    assert.equal(fallbackMailbox(m, undefined), 'd@kerava.fi');
  });

  it("sends to the manager's own mail; an unknown, disabled or mail-less manager → the unit, saying so", () => {
    const to = { manager: 'E0500', unit: 'SOTE-HOIVA' };
    assert.deepEqual(chooseRecipients(mail, to, { mail: 'boss@kerava.fi', enabled: true }), {
      to: ['boss@kerava.fi'],
      via: 'manager',
      notes: [],
      noteVars: {},
    });
    for (const lookup of [null, { enabled: false, mail: 'boss@kerava.fi' }, { enabled: true }]) {
      const chosen = chooseRecipients(mail, to, lookup);
      assert.deepEqual(chosen.to, ['sote-esihenkilot@kerava.fi']);
      assert.deepEqual(chosen.notes, ['managerUnknown']);
      assert.deepEqual(chosen.noteVars, { managerId: 'E0500' });
    }
    assert.deepEqual(chooseRecipients(mail, { manager: null, unit: 'TEKN' }).notes, ['noManager']);
    assert.deepEqual(chooseRecipients(mail, { manager: null, unit: 'TEKN' }).to, [
      'henkilostopalvelut@kerava.fi',
    ]);
  });

  it('school contacts, ops, units and plain addresses', () => {
    assert.deepEqual(chooseRecipients(mail, { school: 'K01' }).to, ['kanslia.k01@kerava.fi']);
    const unknownSchool = chooseRecipients(mail, { school: 'K99', unit: 'EDU-PERUS' });
    assert.deepEqual(unknownSchool.to, ['opetus-kanslia@kerava.fi']);
    assert.deepEqual(unknownSchool.notes, ['schoolContactUnknown']);
    assert.deepEqual(chooseRecipients(mail, { ops: true }).to, ['tunnus-ops@kerava.fi']);
    assert.deepEqual(chooseRecipients(mail, { unit: 'SOTE' }).to, ['sote-esihenkilot@kerava.fi']);
    assert.deepEqual(chooseRecipients(mail, { address: 'x@kerava.fi' }).to, ['x@kerava.fi']);
  });

  it('validates a request at the door, naming the field', () => {
    const ok = noticeRequestSchema.safeParse({
      key: 'ready:E1001:2026-12-01',
      template: 'account-ready',
      to: { manager: 'E0500', unit: 'SOTE' },
      vars: readyVars,
    });
    assert.equal(ok.success, true);
    const unit = noticeRequestSchema.parse({ key: 'k', template: 't', to: { unit: 'SOTE' }, vars: {} });
    assert.equal('manager' in unit.to, false, 'a unit recipient is not read as a manager one');
    const bad = noticeRequestSchema.safeParse({
      key: 'has space',
      template: 'T',
      to: { address: 'nope' },
      vars: {},
    });
    assert.equal(bad.success, false);
    const fields = bad.error.issues.map((i) => i.path.join('.'));
    assert.ok(fields.includes('key'));
    assert.ok(fields.includes('template'));
  });

  it('the policy refuses a mail block without a default fallback mailbox', () => {
    const yaml = fs
      .readFileSync(path.join(__dirname, '..', '..', 'config', 'policy.yaml'), 'utf8')
      .replace(/ {4}default: henkilostopalvelut@kerava.fi\n/, '');
    assert.throws(() => parsePolicy(yaml), /mail\.fallbackMailboxes: needs a default mailbox/);
  });
});

describe('the notices the runs send (src/domain/notice-events.ts) render from config/notices.yaml', () => {
  // Drift between the builders' variables and the templates would fail every such notice at
  // run time (NoticeVariableMissing): caught here instead.
  const record = {
    employeeId: 'E1001',
    orgUnit: 'SOTE-HOIVA',
    managerId: 'E0500',
    startDate: '2026-01-01',
  } as unknown as Parameters<typeof events.leaverReminderNotice>[0];
  const report = {
    runAt: '2026-12-02T00:00:00Z',
    mode: 'report',
    managedIdentities: 120,
    counts: {},
    done: {},
    licences: { SPE_E3: 2 },
    monthlySaving: 72,
    findings: [],
  } as unknown as Parameters<typeof events.cleanupReportNotice>[0];
  const now = Date.parse('2026-12-01T08:00:00Z');
  const requests = [
    events.leaverReminderNotice(record, '2026-12-10', now),
    events.accessEndedNotice(record, '2026-12-10', '2026-12-10T22:00:00Z', 'leaver-E1001-3'),
    events.runFailedNotice('E1001', { workflowId: 'joiner-E1001-1', kind: 'joiner' }, 'CloudInvalid'),
    events.accessRetryingNotice(
      'E1001',
      { workflowId: 'leaver-E1001-3', kind: 'leaver' },
      { at: '2026-12-11T00:00:00Z', reason: 'DirectoryUnavailable' },
      false,
    ),
    events.licenceWaitNotice(
      'E1001',
      'joiner-E1001-1',
      { since: '2026-11-29T08:00:00Z', skus: ['SPE_E3'] },
      48 * 3600_000,
      now,
    ),
    events.massChangeHeldNotice(
      { since: '2026-12-01T07:00:00Z', workflowId: 'mass-change-hold' },
      { pending: 40, disables: 40, deletes: 0, roleChanges: 0, active: 600 },
    ),
    events.cleanupReportNotice(report, 'leaver-cleanup-2026-12-02'),
  ];

  it('covers every template the builders name', () => {
    assert.deepEqual(new Set(requests.map((r) => r.template)), new Set(events.noticeTemplates));
  });

  for (const req of requests) {
    it(`${req.template}: every language, with the names the activity looks up`, () => {
      assert.equal(noticeRequestSchema.safeParse(req).success, true, 'passes the door');
      for (const language of noticeLanguages) {
        const out = renderNotice(catalogue, {
          template: req.template,
          language,
          // What sendNotice adds from the directory (the person's names are never in the request).
          vars: { displayName: 'Aino Aalto', ...req.vars },
        });
        assert.equal(out.language, language);
        assert.doesNotMatch(out.subject + out.body, /\{[A-Za-z_]+\}/);
      }
    });
  }
});
