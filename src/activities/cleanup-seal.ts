import { createHmac } from 'node:crypto';
import type { IdentityKeys } from '../crypto/identity-keys';
import { KeyDestroyedError } from '../crypto/identity-keys';
import { isSealed, openText, sealText, sealWithKey } from '../crypto/seal';
import type { Finding } from '../domain/cleanup-report';
import { canonicalIdentityKey, identityKeyProblem } from '../domain/identity-key';

// The cleanup report lists many people in one payload, which the payload codec can only put under
// the shared key. So the activity seals each finding's personal fields (account name, DN) under
// that finding's own person's key before the report enters Temporal: once a person is shredded,
// their line of every stored report says "(shredded)". The workflow reads kinds, ids, SKU codes,
// groups and counts only; the activities and the CLI open the fields when they need them.

/** What a sealed field shows once its person's key is destroyed. */
export const SHREDDED = '(shredded)';

const PERSONAL = ['account', 'dn'] as const;

/** The identity key a finding's fields are sealed under; undefined for a non-Tunnus account. */
function ownerOf(f: Finding): string | undefined {
  if (!('employeeId' in f) || !f.employeeId) return undefined;
  const key = canonicalIdentityKey(f.employeeId);
  return identityKeyProblem(key) === undefined ? key : undefined;
}

/**
 * A stable pseudonym for an account with no identity (HMAC of its DN under the shared key): the
 * mass-change guard counts such an account once across runs without its DN (src/domain/mass-change.ts).
 */
const refOf = (sharedKey: Buffer, dn: string) =>
  createHmac('sha256', sharedKey).update(`cleanup-ref\n${dn.toLowerCase()}`).digest('base64url').slice(0, 22);

export async function sealFindings(keys: IdentityKeys, findings: readonly Finding[]): Promise<Finding[]> {
  const shared = await keys.sharedKey();
  const sealShared = (v: string) => sealWithKey(shared.keyId, shared.key, Buffer.from(v, 'utf8'));
  return Promise.all(
    findings.map(async (f) => {
      // No Tunnus identity behind it (an orphan without an employeeID, a reservation contact), or
      // one already shredded whose account lingers in AD: no key of it will ever be destroyed, so
      // the shared key (still never plaintext in Temporal), and a pseudonym for the guard.
      let owner = ownerOf(f);
      if (owner && (await keys.isDestroyed(owner))) owner = undefined;
      const out: Record<string, unknown> = { ...f };
      if (!owner && 'dn' in f && f.kind !== 'expiredReservation') out.ref = refOf(shared.key, f.dn);
      for (const field of PERSONAL) {
        const v = out[field];
        if (typeof v !== 'string' || isSealed(v)) continue;
        out[field] = owner ? await sealText(keys, owner, v) : sealShared(v);
      }
      return out as Finding;
    }),
  );
}

/**
 * The findings with their fields opened: a destroyed key shows SHREDDED; a plaintext field (a
 * report recorded before sealing) is shown as it is.
 */
export async function openFindings(keys: IdentityKeys, findings: readonly Finding[]): Promise<Finding[]> {
  return Promise.all(
    findings.map(async (f) => {
      const out: Record<string, unknown> = { ...f };
      for (const field of PERSONAL) {
        const v = out[field];
        if (typeof v !== 'string' || !isSealed(v)) continue;
        try {
          out[field] = await openText(keys, v);
        } catch (err) {
          if (!(err instanceof KeyDestroyedError)) throw err;
          out[field] = SHREDDED;
        }
      }
      return out as Finding;
    }),
  );
}

/** Whether any field the fix needs is shredded (the person is gone: nothing left to fix). */
export const isShredded = (f: Finding): boolean =>
  PERSONAL.some((field) => (f as Record<string, unknown>)[field] === SHREDDED);
