import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  openPostgresNoticeLedger,
  openSqliteNoticeLedger,
  type NoticeLedger,
} from '../../src/store/notice-ledger';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';

// The notice ledger's contract, the same on both stores: sent once per key, a retry of the same
// owner takes its claim over, another owner waits until the claim is stale, a failed send gives
// the key back, and the row outlives the process (a reopened store still says sent).

let pgServer: ThrowawayPostgres;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-notice-ledger-'));

before(async () => (pgServer = await startThrowawayPostgres()));
after(async () => {
  await pgServer.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const at = (minutes: number) => new Date(Date.parse('2026-12-01T08:00:00Z') + minutes * 60_000).toISOString();
const claim = (ledger: NoticeLedger, key: string, owner: string, minutes: number) =>
  ledger.claim({ key, template: 'account-ready', owner, at: at(minutes), staleAfterMs: 5 * 60_000 });

const backends: { name: string; open: (name: string) => Promise<() => NoticeLedger> }[] = [
  {
    name: 'SQLite',
    open: async (name) => {
      const file = path.join(dir, `${name}.sqlite`);
      return () => openSqliteNoticeLedger(file);
    },
  },
  {
    name: 'PostgreSQL',
    open: async (name) => {
      const url = await pgServer.createDatabase(name.replace(/-/g, '_'));
      return () => openPostgresNoticeLedger(url);
    },
  },
];

for (const backend of backends) {
  describe(`notice ledger on ${backend.name}`, () => {
    it('sends once per key, also after the store is reopened (a worker restart)', async () => {
      const open = await backend.open('once');
      const ledger = open();
      assert.deepEqual(await claim(ledger, 'ready:E1:2026-12-01', 'wf-1/1', 0), {
        outcome: 'claimed',
        takenOver: false,
      });
      await ledger.markSent('ready:E1:2026-12-01', 'wf-1/1', ['boss@kerava.fi'], at(0));
      const again = await claim(ledger, 'ready:E1:2026-12-01', 'wf-1/1', 1);
      assert.equal(again.outcome, 'sent');
      await ledger.close();
      const reopened = open();
      const later = await claim(reopened, 'ready:E1:2026-12-01', 'wf-2/1', 60);
      assert.equal(later.outcome, 'sent');
      assert.deepEqual(later.outcome === 'sent' && later.entry.to, ['boss@kerava.fi']);
      const entry = await reopened.get('ready:E1:2026-12-01');
      assert.equal(entry?.status, 'sent');
      assert.equal(entry?.template, 'account-ready');
      assert.equal(entry?.sentAt && Date.parse(entry.sentAt), Date.parse(at(0)));
      assert.equal(await reopened.get('no-such-key'), undefined);
      await reopened.close();
    });

    it("takes over its own claim, waits for another owner's until it is stale, and frees a released one", async () => {
      const ledger = (await backend.open('claims'))();
      assert.equal((await claim(ledger, 'k1', 'owner-a', 0)).outcome, 'claimed');
      assert.deepEqual(await claim(ledger, 'k1', 'owner-a', 1), { outcome: 'claimed', takenOver: true });
      const busy = await claim(ledger, 'k1', 'owner-b', 2);
      assert.equal(busy.outcome, 'busy');
      assert.deepEqual(await claim(ledger, 'k1', 'owner-b', 7), { outcome: 'claimed', takenOver: true });
      // The old owner's late answer no longer counts: its markSent does not touch b's claim.
      await ledger.markSent('k1', 'owner-a', ['x@kerava.fi'], at(7));
      assert.equal((await ledger.get('k1'))?.status, 'sending');
      await ledger.release('k1', 'owner-b');
      assert.equal(await ledger.get('k1'), undefined);
      assert.deepEqual(await claim(ledger, 'k1', 'owner-c', 8), { outcome: 'claimed', takenOver: false });
      await ledger.release('k1', 'owner-a'); // not the owner: nothing happens
      assert.equal((await ledger.get('k1'))?.owner, 'owner-c');
      await ledger.close();
    });

    it('lets exactly one of many concurrent claims of a key through', async () => {
      const open = await backend.open('race');
      const ledgers = [open(), open(), open()];
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, i) => claim(ledgers[i % 3]!, 'race-key', `owner-${i}`, 0)),
      );
      assert.equal(outcomes.filter((o) => o.outcome === 'claimed').length, 1);
      assert.equal(outcomes.filter((o) => o.outcome === 'busy').length, 11);
      await Promise.all(ledgers.map((l) => l.close()));
    });
  });
}
