import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openFindings, sealFindings, SHREDDED } from '../../src/activities/cleanup-seal';
import { isSealed, sealedKeyId } from '../../src/crypto/seal';
import type { Finding } from '../../src/domain/cleanup-report';
import { cleanupLosses } from '../../src/domain/mass-change';
import { throwawayIdentityKeys } from '../support/throwaway-keys';

// The cleanup report's personal fields are sealed per finding (src/activities/cleanup-seal.ts):
// under the person's key when the finding names a Tunnus identity (shredded with them), under the
// shared key when it names nobody. Real key store (SQLite in memory) and real AES-GCM.

const findings: Finding[] = [
  { kind: 'pastRetention', employeeId: 'E1001', account: 'aino.aalto', deleteAt: '2027-01-01T00:00:00Z' },
  {
    kind: 'orphanAccount',
    employeeId: 'E1002',
    account: 'orpo.esimerkki',
    dn: 'CN=orpo.esimerkki,OU=Care,DC=kerava,DC=test',
    why: 'identity is left',
  },
  {
    kind: 'orphanAccount',
    account: 'vieras.tili',
    dn: 'CN=vieras.tili,OU=Care,DC=kerava,DC=test',
    why: 'no employeeID',
  },
  { kind: 'licenceOnLeaver', employeeId: 'E1003', userId: 'u-1', skus: ['SPE_E3'], why: 'identity is left' },
  { kind: 'expiredReservation', dn: 'CN=retired-x,OU=Retired,DC=kerava,DC=test', until: '2026-01-01' },
];
const plaintexts = ['aino.aalto', 'orpo.esimerkki', 'vieras.tili', 'retired-x', 'kerava'];

describe('cleanup findings sealed per person', () => {
  it('holds no account name or DN in plaintext, each under its own person or the shared key', async () => {
    const keys = throwawayIdentityKeys();
    const sealed = await sealFindings(keys, findings);
    const text = JSON.stringify(sealed);
    for (const p of plaintexts) assert.ok(!text.includes(p), `${p} in the sealed report`);
    // What the workflow reads stays: kinds, ids, SKU codes, counts.
    assert.deepEqual(
      sealed.map((f) => [f.kind, 'employeeId' in f ? f.employeeId : undefined]),
      findings.map((f) => [f.kind, 'employeeId' in f ? f.employeeId : undefined]),
    );
    const shared = (await keys.sharedKey()).keyId;
    const keyOf = (f: Finding) =>
      sealedKeyId((f as { account?: string; dn?: string }).account ?? (f as { dn: string }).dn);
    assert.equal(keyOf(sealed[0]!), (await keys.dataKeyFor('E1001')).keyId);
    assert.equal(keyOf(sealed[1]!), (await keys.dataKeyFor('E1002')).keyId);
    assert.equal(keyOf(sealed[2]!), shared, 'no identity: shared key');
    assert.equal(keyOf(sealed[4]!), shared, 'reservation: shared key');
    assert.ok(sealed.every((f) => !('dn' in f) || isSealed(f.dn)));
    assert.deepEqual(await openFindings(keys, sealed), [
      findings[0],
      findings[1],
      { ...findings[2], ref: (sealed[2] as { ref?: string }).ref },
      findings[3],
      findings[4],
    ]);
  });

  it('an account with no identity keeps one pseudonym across runs, so the guard counts it once', async () => {
    const keys = throwawayIdentityKeys();
    const [a, b] = [await sealFindings(keys, findings), await sealFindings(keys, findings)];
    const ref = (f: Finding | undefined) => (f as { ref?: string }).ref;
    assert.ok(ref(a[2]) && ref(a[2]) === ref(b[2]), 'same pseudonym');
    assert.notEqual((a[2] as { dn: string }).dn, (b[2] as { dn: string }).dn, 'ciphertext differs');
    const ids = cleanupLosses(a).map((l) => l.identityId);
    assert.deepEqual(ids, ['E1001', 'E1002', `ref:${ref(a[2])}`]);
    assert.ok(!ids.join().includes('vieras'));
  });

  it('a shredded person shows "(shredded)"; a report recorded before sealing opens as it is', async () => {
    const keys = throwawayIdentityKeys();
    const sealed = await sealFindings(keys, findings);
    await keys.destroy('E1002');
    const opened = await openFindings(keys, sealed);
    assert.equal((opened[1] as { account: string }).account, SHREDDED);
    assert.equal((opened[1] as { dn: string }).dn, SHREDDED);
    assert.equal((opened[0] as { account: string }).account, 'aino.aalto', 'others still open');
    assert.deepEqual(await openFindings(keys, findings), findings, 'plaintext (recorded) as it is');
    // A shredded identity whose account lingers in AD is sealed like an orphan: the cleanup goes on.
    const again = await sealFindings(keys, findings);
    assert.equal(sealedKeyId((again[1] as { dn: string }).dn), (await keys.sharedKey()).keyId);
    assert.equal((await openFindings(keys, again))[1]!.kind, 'orphanAccount');
    assert.equal(
      ((await openFindings(keys, again))[1] as { dn: string }).dn,
      (findings[1] as { dn: string }).dn,
    );
  });
});
