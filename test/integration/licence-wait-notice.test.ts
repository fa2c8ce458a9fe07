import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { deliverRecord, personState } from '../../src/ops/persons';
import { helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import { provisionStatusQuery } from '../../src/workflows/messages';
import { SANDBOX_GRAPH_TOKEN } from '../../sandbox/simulators';
import { eventually, startStack, type Stack } from '../support/stack';

// Issue 14: a joiner waiting for a licence seat longer than the policy's limit → exactly one
// notice in the ops mailbox (read through the Graph simulator's mailbox admin endpoint), not one
// per re-check; stopping the worker and starting a new one (it replays the run) sends none again.
// Real parts: the dev server, Samba AD, the Graph simulator, the worker's sendNotice and its
// ledger in the record store.

const runId = Date.now().toString(36).toUpperCase();
/** The limit here: 4 seconds (re-checks every second). */
const LIMIT_HOURS = 4 / 3600;

interface Delivered {
  from: string;
  to: string[];
  subject: string;
  body: string;
  sentAt: string;
}

describe('licence wait over the limit → one ops notice, also across a worker restart', () => {
  let stack: Stack;
  let worker: { stop: () => Promise<void> };
  before(async () => {
    stack = await startStack({
      policy: (p) => {
        p.notifications.licenceWaitLimitHours = LIMIT_HOURS;
      },
    });
    worker = await stack.startWorker();
  });
  after(async () => {
    await stack.close();
  });

  /** GET /_admin/mailboxes/{address}/messages on the simulator (contract A). */
  const inbox = (address: string) =>
    new Promise<Delivered[]>((resolve, reject) => {
      const req = https.request(
        `${stack.sims.graph.url}/_admin/mailboxes/${encodeURIComponent(address)}/messages`,
        {
          method: 'GET',
          ca: fs.readFileSync(stack.sims.graph.caCertPath),
          headers: { Authorization: `Bearer ${SANDBOX_GRAPH_TOKEN}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`admin endpoint: ${res.statusCode}`));
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Delivered[]);
          });
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('one ops notice over many re-checks; a new worker after a stop sends none again', async () => {
    const id = `LW${runId}`;
    const ops = stack.policy.mail!.opsMailbox;
    const about = async () => (await inbox(ops)).filter((m) => m.subject.includes(id));
    const skus = await stack.cloud.listSubscribedSkus();
    const withSeats = (n: number) =>
      skus.map((s) => ({
        skuPartNumber: s.skuPartNumber,
        enabled: s.skuPartNumber === 'SPE_E3' ? n : s.enabled,
      }));
    const e3 = skus.find((s) => s.skuPartNumber === 'SPE_E3')!;
    stack.sims.graph.admin.setSkus(withSeats(e3.consumed)); // pool exhausted

    const record: HrRecord = {
      employeeId: id,
      firstNames: 'Aino',
      lastName: `Odotus${runId}`,
      jobTitle: 'Sairaanhoitaja',
      jobCode: 'SH01',
      orgUnit: 'SOTE-110',
      employmentType: 'permanent',
      startDate: helsinkiDate(new Date()),
    };
    await stack.sims.phone.admin.assignNumbers(id, []);
    await deliverRecord(stack.client, record, 'hr', stack.taskQueue);
    const joiner = stack.client.workflow.getHandle(`joiner-${id}-1`);
    await eventually(
      () => joiner.query(provisionStatusQuery).catch(() => undefined),
      (s) => s?.detail === 'waiting for licence SPE_E3',
      60_000,
      'waiting for licence',
    );
    assert.equal((await about()).length, 0, 'within the limit: nothing yet');

    const [notice] = await eventually(about, (m) => m.length > 0, 60_000, 'ops notice delivered');
    assert.deepEqual(notice!.to, [ops]);
    assert.match(notice!.subject, /SPE_E3/);
    assert.doesNotMatch(notice!.body, new RegExp(record.lastName), 'ids and codes, no names');

    // Re-checks go on (every second) for a while: still one.
    await new Promise((r) => setTimeout(r, 5_000));
    const rechecking = await joiner.query(provisionStatusQuery);
    assert.equal(rechecking.detail, 'waiting for licence SPE_E3');
    assert.equal((await about()).length, 1, 'one notice, not one per re-check');

    // The worker stops; a new one takes the run over (replaying its history) and re-checks on.
    await worker.stop();
    worker = await stack.startWorker();
    await eventually(
      () => joiner.query(provisionStatusQuery).catch(() => undefined),
      (s) => s?.detail === 'waiting for licence SPE_E3',
      60_000,
      'the new worker runs the wait',
    );
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal((await about()).length, 1, 'a worker restart sends it not again');

    // A seat is bought: the joiner finishes; the wait's notice stays the one.
    stack.sims.graph.admin.setSkus(withSeats(e3.consumed + 1));
    const state = await eventually(
      () => personState(stack.client, id),
      (s) => !!s && s.stage === 'active' && s.runs.every((r) => r.endedAt),
      60_000,
      'joiner completed',
    );
    assert.equal(state!.stage, 'active');
    assert.equal((await about()).length, 1);
    stack.sims.graph.admin.setSkus(withSeats(2000));
  });
});
