import { createHmac } from 'node:crypto';

// A name reservation (the contact in OU=Retired that keeps a deleted account's names from reuse)
// is only ever asked "is this name taken", so it holds salted hashes of the names, not the names:
// the contact's cn is `r-<hash of the sAMAccountName>`, its proxyAddresses `x-tunnus:<hash of each
// address>`. The salt is per deployment (src/wiring.ts derives it from the key store's shared key,
// which is never rotated); the collision check hashes the candidate names the same way.

/** The proxyAddresses prefix of a hashed reserved address. */
export const HASHED_ADDRESS = 'x-tunnus:';

export type ReservationSalt = Buffer | (() => Promise<Buffer>);

/** HMAC-SHA256 of the lower-cased name under the salt: 40 hex characters (cn fits in 64). */
export const reservedNameHash = (salt: Buffer, name: string): string =>
  createHmac('sha256', salt).update(`reserved-name\n${name.toLowerCase()}`).digest('hex').slice(0, 40);

/** The contact's cn for a reserved sAMAccountName. */
export const hashedReservationCn = (salt: Buffer, name: string) => `r-${reservedNameHash(salt, name)}`;
