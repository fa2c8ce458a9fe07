import { sha256Hex } from '../../src/api/auth';
import { startCodecServer, type CodecServer } from '../../src/codec-server/server';
import { operatorAuthenticator } from '../../src/codec-server/operators';
import { createPayloadCodec } from '../../src/crypto/codec';
import { createLogger } from '../../src/logger';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { deliverRecord, personState } from '../../src/ops/persons';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import type { EducationRecord } from '../../src/domain/education';
import type { HrRecord } from '../../src/domain/record';
import { provisionStatusQuery, type PersonState } from '../../src/workflows/messages';
import { eventually, startStack, type Stack } from '../support/stack';

// What ops see: the dev server's Temporal Web UI in a real browser (Debian's Chromium driven by
// playwright-core; no browser download). A joiner is found by an EmployeeId visibility query, its
// run shows its summary and a summary on every step, and a waiting joiner says what it waits for.
// Screenshots go to test/artifacts/ (git-ignored).

const CHROMIUM = process.env.TUNNUS_CHROMIUM ?? '/usr/bin/chromium';
const artifacts = path.resolve(__dirname, '../artifacts');
const runId = Date.now().toString(36).toUpperCase();
let seq = 0;
const nextId = (prefix: string) => `${prefix}${runId}-${++seq}`;

function nurse(employeeId: string, startDate = helsinkiDate(new Date())): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `Kayttoliittyma${runId}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate,
  };
}

describe('the Temporal Web UI shows Tunnus runs that ops can read', () => {
  let stack: Stack;
  let browser: Browser;
  let ui: string;
  let codec: CodecServer;
  let operator: BrowserContext;
  const token = `tun_ui_${Date.now()}`;
  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (Debian package chromium)`);
    stack = await startStack();
    await stack.startWorker();
    ui = stack.temporal.uiUrl;
    // Tests run as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    fs.mkdirSync(artifacts, { recursive: true });
    // Payloads and summaries are encrypted: ops read them through the codec server, signed in.
    codec = await startCodecServer({
      codec: createPayloadCodec(stack.keys),
      authenticate: operatorAuthenticator([{ name: 'ui-operator', tokenSha256: sha256Hex(token) }]),
      uiOrigins: [new URL(ui).origin],
      logger: createLogger('warn'),
    });
    operator = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    await operator.addInitScript((endpoint: string) => {
      localStorage.setItem('endpoint', JSON.stringify(endpoint));
      localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
      localStorage.setItem('includeCredentials', 'true');
      localStorage.setItem('passAccessToken', 'false');
    }, codec.url);
    const login = await operator.newPage();
    await login.goto(`${codec.url}/login`);
    await login.getByLabel('Operator token').fill(token);
    await login.getByRole('button', { name: 'Sign in' }).click();
    await login.getByText('Signed in as operator ui-operator').waitFor();
    await login.close();
  });
  after(async () => {
    await operator?.close();
    await browser?.close();
    await codec?.close();
    await stack?.close();
  });

  async function newPage(): Promise<Page> {
    const page = await operator.newPage();
    page.setDefaultTimeout(60_000);
    return page;
  }

  /**
   * Opens the workflow list filtered by a visibility query and waits until the run is listed,
   * reloading meanwhile: visibility is indexed a moment after the run starts.
   */
  async function findInList(page: Page, query: string, workflowId: string): Promise<void> {
    const url = `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
    const link = page.getByRole('link', { name: workflowId, exact: true });
    const deadline = Date.now() + 60_000;
    for (;;) {
      await page.goto(url);
      try {
        await link.first().waitFor({ state: 'visible', timeout: 5_000 });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
  }

  it('finds a joiner by EmployeeId, opens its run and shows its summary and step summaries', async () => {
    const id = nextId('UI');
    await deliverRecord(stack.client, nurse(id), 'hr', stack.taskQueue);
    await eventually(
      () => personState(stack.client, id),
      (s): s is PersonState => s?.stage === 'active' && s.runs.every((r) => r.endedAt),
      90_000,
      `person ${id} active`,
    );
    const joinerId = `joiner-${id}-1`;
    const page = await newPage();

    await findInList(page, `EmployeeId = "${id}"`, joinerId);
    // The query narrowed the list to this person: the entity workflow and its joiner, nothing else.
    const listed = await page.getByRole('link', { name: /^(person|joiner|mover)-/ }).allInnerTexts();
    assert.deepEqual([...new Set(listed)].sort(), [joinerId, `person-${id}`]);

    await page.getByRole('link', { name: joinerId, exact: true }).first().click();
    await page.waitForURL(new RegExp(`/workflows/${joinerId}/[0-9a-f-]+/`));
    await page.getByRole('heading', { name: joinerId }).waitFor();
    const body = () => page.locator('body').innerText();
    assert.match(await body(), /COMPLETED/);
    assert.match(await body(), /joinerWorkflow/);

    // Each step carries a summary. A regular activity's timeline bar is labelled "activity •
    // summary" (the bare summaries also appear in the run's result, so match the label); a local
    // activity (joiner-local-steps) is a bar labelled with its type, and its marker in the event
    // history shows the type and the summary side by side.
    const steps: [type: string, summary: string, local: boolean][] = [
      ['planPerson', 'plan: compare HR record and policy with AD', true],
      ['ensureAccount', 'create AD account (disabled)', true],
      ['addToGroups', 'add to All-Staff, Care-Staff, ERP-Nurse', true],
      ['setAccountEnabled', 'enable account', true],
      ['ensureCloudUser', 'ensure cloud user', false],
      ['ensureLicences', 'ensure licences SPE_E3', false],
      ['syncPhone', 'telephony catalogue entry and phone numbers', true],
      ['handOverCredential', 'hand over the first-day credential (e-mail from the shared mailbox)', true],
    ];
    for (const [type, summary, local] of steps) {
      await page
        .getByText(local ? type : `${type} • ${summary}`, { exact: true })
        .first()
        .waitFor();
    }
    await page.screenshot({ path: path.join(artifacts, 'temporal-ui-joiner.png'), fullPage: true });
    await page.goto(page.url().replace(/\/[a-z-]+(\?.*)?$/, '/history'));
    const beside = (type: string, summary: string) =>
      new RegExp(`Activity Type\\s+${escapeRegExp(type)}\\s+Summary\\s+${escapeRegExp(summary)}\\s`);
    const missing = await eventually(
      async () => {
        const text = await body();
        return steps.filter(([type, summary]) => !beside(type, summary).test(text)).map(([type]) => type);
      },
      (left) => left.length === 0,
      60_000,
      'every step with its summary in the event history',
    );
    assert.deepEqual(missing, []);
    await page.screenshot({ path: path.join(artifacts, 'temporal-ui-joiner-history.png'), fullPage: true });

    // The static summary the person workflow gave its child (rendered in a sandboxed frame).
    await page
      .getByRole('link', { name: 'User Metadata' })
      .or(page.getByText('User Metadata', { exact: true }))
      .first()
      .click();
    await page
      .frameLocator('#user-metadata-summary')
      .getByText('new person: create and enable the account')
      .waitFor();
    await page.screenshot({ path: path.join(artifacts, 'temporal-ui-joiner-summary.png') });
    await page.close();
  });

  it('a joiner that ran inside its person (a pupil, no cloud) shows each step with its summary in the person', async () => {
    const studentId = `P${runId}${++seq}`;
    const id = `S-${studentId}`;
    const pupil: EducationRecord = {
      studentId,
      firstNames: 'Eetu',
      lastName: `Kayttoliittyma${runId}`,
      schoolCode: 'K01',
      class: '3B',
      startDate: helsinkiDate(new Date()),
    };
    await deliverRecord(stack.client, pupil, 'education', stack.taskQueue);
    const state = await eventually(
      () => personState(stack.client, id),
      (s): s is PersonState => s?.stage === 'active' && s.runs.every((r) => r.endedAt),
      90_000,
      `person ${id} active`,
    );
    const personId = `person-${id}`;
    assert.equal(state!.runs[0]?.ranIn, personId, 'the joiner ran inside its person (joiner-here)');
    const page = await newPage();
    // No joiner workflow of its own: the person is all the EmployeeId query lists.
    await findInList(page, `EmployeeId = "${id}"`, personId);
    const listed = await page.getByRole('link', { name: /^(person|joiner|mover)-/ }).allInnerTexts();
    assert.deepEqual([...new Set(listed)], [personId]);
    await page.getByRole('link', { name: personId, exact: true }).first().click();
    await page.waitForURL(new RegExp(`/workflows/${personId}/[0-9a-f-]+/`));
    await page.goto(page.url().replace(/\/[a-z-]+(\?.*)?$/, '/history'));
    const steps: [type: string, summary: RegExp][] = [
      ['planPerson', /plan: compare HR record and policy with AD/],
      ['ensureAccount', /create AD account \(disabled\)/],
      ['addToGroups', /add to \S.*/],
      ['setAccountEnabled', /enable account/],
      ['handOverCredential', /hand over the first-day credential \(e-mail from the shared mailbox\)/],
    ];
    const missing = await eventually(
      async () => {
        const text = await page.locator('body').innerText();
        return steps
          .filter(
            ([type, summary]) =>
              !new RegExp(`Activity Type\\s+${type}\\s+Summary\\s+${summary.source}`).test(text),
          )
          .map(([type]) => type);
      },
      (left) => left.length === 0,
      60_000,
      "every step with its summary in the person's event history",
    );
    assert.deepEqual(missing, []);
    await page.screenshot({ path: path.join(artifacts, 'temporal-ui-joiner-in-person.png'), fullPage: true });
    await page.close();
  });

  it('a joiner waiting for the start date shows what it waits for as current details and timer summary', async () => {
    const id = nextId('UIW');
    // Within preHireDays: the account is created now (disabled) and enabled on the start date.
    const startDate = addDays(helsinkiDate(new Date()), 7);
    await deliverRecord(stack.client, nurse(id, startDate), 'hr', stack.taskQueue);
    const joinerId = `joiner-${id}-1`;
    const waiting = `waiting for start date ${startDate}`;
    await eventually(
      async () =>
        (
          await stack.client.workflow
            .getHandle(joinerId)
            .query(provisionStatusQuery)
            .catch(() => undefined)
        )?.detail,
      (detail) => detail === waiting,
      90_000,
      'joiner waiting for the start date',
    );
    const page = await newPage();
    await findInList(page, `EmployeeId = "${id}" AND WorkflowType = "joinerWorkflow"`, joinerId);
    await page.getByRole('link', { name: joinerId, exact: true }).first().click();
    await page.getByRole('heading', { name: joinerId }).waitFor();
    assert.match(await page.locator('body').innerText(), /RUNNING/);
    // The timer's summary names the date in the timeline.
    await page.getByText(waiting).first().waitFor();
    await page.screenshot({ path: path.join(artifacts, 'temporal-ui-joiner-waiting.png'), fullPage: true });
    await page
      .getByRole('link', { name: 'User Metadata' })
      .or(page.getByText('User Metadata', { exact: true }))
      .first()
      .click();
    await page.frameLocator('#user-metadata-current-details').getByText(waiting).waitFor();
    await page.close();
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
