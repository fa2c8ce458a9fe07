import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identityOfValue, identityOfWorkflowId, personalFields } from '../../src/crypto/attribution';
import { recordedHistories } from '../replay/histories';
import { historyPayloads, payloadJson, payloadText, type HistoryPayload } from '../support/history-payloads';

// The payload codec encrypts a payload with one person's key, chosen by src/crypto/attribution.ts
// from the payload alone (and the workflow it belongs to). This holds that choice exact over every
// payload of the 24 recorded histories (real runs of every workflow type in every waiting phase):
// a payload with personal fields belongs to exactly one identity — the one the codec picks — and
// no name, address or account name of a person shows up in a payload the codec gives to someone
// else or to the shared key. test/integration/privacy.test.ts does the same for fresh runs.

/** The identity the codec encrypts a payload for (src/crypto/codec.ts keyFor), or shared. */
const codecIdentity = (value: unknown, ownerWorkflowId: string) =>
  identityOfValue(value) ?? identityOfWorkflowId(ownerWorkflowId);

/**
 * Payloads of the recorded histories written in a form the code no longer writes. Recorded
 * histories never change, so these stay exempt here and only here; each entry must still match
 * something (so a stale one is noticed) and nothing else may mix people. The fresh form of each
 * is checked where named.
 */
const RECORDED_MIXES: { history: string; where: RegExp; field: RegExp; why: string }[] = [
  {
    history: 'kept/cleanup-awaiting-approval',
    where: /^activityTaskCompletedEventAttributes\.result/,
    field: /^findings\[\d+\]\.(account|dn)$/,
    why:
      "a cleanup report collected before each finding was sealed under its own person's key " +
      '(src/activities/cleanup-seal.ts; fresh reports: test/unit/cleanup-seal.test.ts and ' +
      'test/integration/cleanup.test.ts find no account name or DN in plain text)',
  },
];

const histories = recordedHistories();

interface Seen extends HistoryPayload {
  history: string;
  value: unknown;
  identity: string | undefined;
}

const all: Seen[] = histories.flatMap(({ name, workflowId, history }) =>
  historyPayloads(history, workflowId)
    .payloads.filter((p) => p.kind !== 'searchAttribute')
    .map((p) => {
      const value = payloadJson(p.payload);
      return { ...p, history: name, value, identity: codecIdentity(value, p.ownerWorkflowId) };
    }),
);

const exempt = (s: Seen, field: string) =>
  RECORDED_MIXES.some((m) => m.history === s.history && m.where.test(s.where) && m.field.test(field));

describe('payload attribution over the recorded histories', () => {
  it('walks every recorded history, and payloads of every kind', () => {
    assert.ok(histories.length >= 24, `${histories.length} histories`);
    const kinds = new Set(all.map((p) => p.where.split('.')[0]));
    for (const kind of [
      'workflowExecutionStartedEventAttributes',
      'workflowExecutionSignaledEventAttributes',
      'activityTaskScheduledEventAttributes',
      'activityTaskCompletedEventAttributes',
      'startChildWorkflowExecutionInitiatedEventAttributes',
      'childWorkflowExecutionCompletedEventAttributes',
      'userMetadata',
    ]) {
      assert.ok(kinds.has(kind), `no ${kind} payload`);
    }
    assert.ok(all.filter((p) => personalFields(p.value).length > 0).length >= 50, 'few personal payloads');
  });

  it('every payload with personal fields belongs to exactly one identity, the one the codec picks', () => {
    const problems: string[] = [];
    for (const p of all) {
      for (const field of personalFields(p.value, p.identity)) {
        if (exempt(p, field.path)) continue;
        if (!p.identity)
          problems.push(`${p.history} ${p.where}: ${field.path} belongs to nobody (shared key)`);
        else if (field.owner !== p.identity) {
          problems.push(
            `${p.history} ${p.where}: ${field.path} of ${field.owner} in ${p.identity}'s payload`,
          );
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it("no person's name or account name appears in a payload encrypted for anyone else", () => {
    // Every personal value seen anywhere, with the identities it belongs to.
    const owners = new Map<string, Set<string>>();
    for (const p of all) {
      for (const field of personalFields(p.value, p.identity)) {
        // A fingerprint is a record's JSON: its names are collected from the record itself.
        if (!field.owner || /fingerprints?$/.test(field.path)) continue;
        for (const v of field.values.flatMap((s) => [s, ...s.split(/[\s,=@"[\]{}:]+/)])) {
          // Not names: short fragments, ids and codes (RP-HELD, SH01), the directory's own words.
          if (v.length < 5 || /^[A-Z0-9_-]+$/.test(v) || /(Tunnus|kerava|Staff|Care|employ|Names)/i.test(v)) {
            continue;
          }
          (owners.get(v) ?? owners.set(v, new Set()).get(v)!).add(field.owner);
        }
      }
    }
    assert.ok(owners.size > 30, `${owners.size} personal values`);
    // The names of the recorded people, their account names and addresses are among them.
    for (const v of ['Poistuva', 'Koululainen', 'testi.alkava', 'orpo.esimerkki2']) {
      assert.ok(owners.has(v), `${v} not collected`);
    }
    const problems: string[] = [];
    const texts = histories.flatMap(({ name, workflowId, history }) =>
      historyPayloads(history, workflowId).texts.map((t) => ({ ...t, history: name })),
    );
    const check = (history: string, where: string, text: string, identity: string | undefined) => {
      for (const [v, who] of owners) {
        if (text.includes(v) && !(identity && who.has(identity))) {
          problems.push(
            `${history} ${where}: "${v}" of ${[...who].join('/')} (encrypted for ${identity ?? 'shared'})`,
          );
        }
      }
    };
    for (const p of all) {
      if (RECORDED_MIXES.some((m) => m.history === p.history && m.where.test(p.where))) continue;
      check(p.history, p.where, payloadText(p.payload), p.identity);
    }
    for (const t of texts) check(t.history, t.where, t.text, identityOfWorkflowId(t.ownerWorkflowId));
    assert.deepEqual(problems, []);
  });

  it('the recorded exceptions still exist and are the only payloads that mix people', () => {
    for (const m of RECORDED_MIXES) {
      const hits = all.filter(
        (p) =>
          p.history === m.history &&
          m.where.test(p.where) &&
          personalFields(p.value).some((f) => m.field.test(f.path)),
      );
      assert.ok(hits.length > 0, `stale exception (${m.why}): remove it`);
      const people = new Set(hits.flatMap((p) => personalFields(p.value).map((f) => f.owner)));
      assert.ok(people.size > 1, `${m.why}: mixes ${people.size} people`);
    }
  });
});
