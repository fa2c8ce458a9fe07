import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createShredActivities } from '../../src/activities/crypto-shred';
import { createPayloadCodec, KEY_ID_METADATA } from '../../src/crypto/codec';
import type { IdentityKeys } from '../../src/crypto/identity-keys';
import { addDays, helsinkiDate, zonedInstant } from '../../src/domain/dates';
import { identityRow } from '../../src/domain/identity-row';
import type { HrRecord } from '../../src/domain/record';
import type { RecordStore } from '../../src/store/import-staging';
import type { ShredResult } from '../../src/workflows/shred';
import { personWorkflowId, type PersonState } from '../../src/workflows/messages';
import { parsePolicy } from '../../src/domain/policy';
import type { Client } from '@temporalio/client';
import { testKeys } from '../support/keys';
import { personHarness, startLifecycleWorker } from '../support/person-harness';
import { MemoryDirectory } from '../support/memory-directory';

// Crypto-shredding at the end of retention on the time-skipping server, with the real payload
// codec over a real key store: the delete run completes → the person hands over to shred-{id} and
// closes → the index entry and read-model row are gone, the data key destroyed, so the person's
// history no longer decodes ("key destroyed") while the shred's own history still does; a rehire
// of the same employee id is a new person run under a new key.

const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
policy.roles.forEach((role) => (role.cloud = false));
policy.telephony.enabled = false;
policy.lifecycle.lastDayEndsAt = '16:00';

const nurse = (employeeId: string, startDate: string, endDate?: string): HrRecord => ({
  employeeId,
  firstNames: 'Aino',
  lastName: 'Unohdettava',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-100',
  employmentType: 'permanent',
  startDate,
  ...(endDate ? { endDate } : {}),
});

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const signalPayloads = (events: HistoryEvent[]): Payload[] =>
  events.flatMap((e) => (e.workflowExecutionSignaledEventAttributes?.input?.payloads ?? []) as Payload[]);
const keyIdOf = (p: Payload) => Buffer.from(p.metadata?.[KEY_ID_METADATA] ?? new Uint8Array()).toString();

describe('crypto-shredding after the retention delete (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let client: Client;
  let store: RecordStore;
  let directory: MemoryDirectory;
  let taskQueue: string;
  let stop: () => Promise<void>;
  // The same keys as the harness's client and worker (test/support/keys.ts).
  const keys: IdentityKeys = testKeys();
  const codec = createPayloadCodec(keys);

  before(async () => {
    ({ env, directory, taskQueue, stop, store } = await startLifecycleWorker(policy, 'crypto-shred', {
      cloud: false,
      extraActivities: (parts) => ({
        ...createShredActivities({ client: parts.env.client, store: () => parts.store, keys: () => keys }),
        // Notices are not what this file is about (the harness has none yet): accepted, not sent.
        sendNotice: async () => ({ status: 'sent' as const, to: [] }),
      }),
    }));
    client = env.client;
  });
  after(() => stop());

  const now = async () => Number(await env.currentTimeMs());
  const today = async () => helsinkiDate(new Date(await now()));
  const skipTo = async (instant: Date, offsetMs = 60_000) => {
    const wait = instant.getTime() + offsetMs - (await now());
    if (wait > 0) await env.sleep(wait);
  };
  const deliver = (record: HrRecord) => personHarness(env, taskQueue).deliver(record);
  const until = (id: string, predicate: (s: PersonState) => boolean) =>
    personHarness(env, taskQueue).until(id, predicate);

  it('the delete after retention shreds: person closed, index and read model empty, history undecodable, rehire under a new key', async () => {
    const id = `CS${Date.now()}`;
    const lastDay = addDays(await today(), 1);
    const record = nurse(id, await today(), lastDay);
    await deliver(record);
    const active = await until(id, (s) => s.stage === 'active');
    // What the intake and the person's read-model activity keep of them while they work here.
    await store.put(id, 'fingerprint', 'hr');
    await store.identities.write(
      identityRow(active, { chain: 'c1', version: 1, at: new Date().toISOString() }),
    );
    assert.ok(await store.get(id));
    assert.ok(await store.identities.get(id));
    const firstRun = await client.workflow.getHandle(personWorkflowId(id)).describe();
    const before = signalPayloads(
      (await client.workflow.getHandle(personWorkflowId(id)).fetchHistory()).events ?? [],
    );
    assert.equal(before.length, 1);
    const [decodedBefore] = await codec.decode(before);
    assert.match(
      Buffer.from(decodedBefore!.data!).toString(),
      /Unohdettava/,
      'readable while they work here',
    );

    await skipTo(zonedInstant(lastDay, policy.lifecycle.lastDayEndsAt));
    const left = await until(id, (s) => s.stage === 'left' && !!s.schedule?.deleteAt);
    await skipTo(new Date(left.schedule!.deleteAt!));

    // The person workflow completes after its delete run and hands over to shred-{id}.
    const person = client.workflow.getHandle(personWorkflowId(id), firstRun.runId);
    // Polled with describe: result() would decode the run's result, sealed with the destroyed key.
    for (let i = 0; i < 600 && (await person.describe()).status.name === 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await person.describe()).status.name, 'COMPLETED');
    assert.equal(directory.account(id), undefined, 'account deleted');
    const shred = client.workflow.getHandle(`shred-${id}`);
    assert.deepEqual(await shred.result(), { outcome: 'shredded' } satisfies ShredResult);

    assert.equal(await store.get(id), undefined, 'record index entry removed');
    assert.equal(await store.identities.get(id), undefined, 'read model row removed');
    const history = (await person.fetchHistory()).events ?? [];
    await assert.rejects(codec.decode(signalPayloads(history)), { name: 'KeyDestroyed' });
    const children = history.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
    assert.equal(
      children.at(-1)?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId,
      `shred-${id}`,
      'the last child is the shred',
    );
    // The shred's own history carries ids only, under the shared key: it still decodes.
    const shredStart = (await shred.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    const [shredInput] = await codec.decode(shredStart?.input?.payloads ?? []);
    const input = JSON.parse(Buffer.from(shredInput!.data!).toString()) as { subjectId: string };
    assert.equal(input.subjectId, id);

    // A rehire later: a new person run (not the closed one), its record under a new key.
    await deliver({ ...record, startDate: addDays(await today(), 1), endDate: undefined });
    const rehired = client.workflow.getHandle(personWorkflowId(id));
    const second = await rehired.describe();
    assert.notEqual(second.runId, firstRun.runId, 'a new run');
    assert.equal(second.status.name, 'RUNNING');
    const fresh = signalPayloads((await rehired.fetchHistory()).events ?? []);
    assert.notEqual(keyIdOf(fresh[0]!), keyIdOf(before[0]!), 'a new data key');
    const [decodedFresh] = await codec.decode(fresh);
    assert.match(Buffer.from(decodedFresh!.data!).toString(), /Unohdettava/);
    const s = await until(id, (x) => x.runs.some((r) => r.kind === 'joiner'));
    assert.equal(s.runs.filter((r) => r.kind === 'delete').length, 0, 'nothing carried over from before');
  });
});
