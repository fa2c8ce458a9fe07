import { randomBytes, randomUUID } from 'node:crypto';
import { GraphFailure } from './state';

// Temporary Access Passes as Entra ID keeps them: the tenant's TAP policy
// (temporaryAccessPassAuthenticationMethodConfiguration) bounds every pass, a user holds at most
// one usable pass, a pass may start in the future, and its value is shown once — in the answer
// to the POST — and never again (listings return null). Errors are the service's: 400 badRequest.

/** The tenant's Temporary Access Pass policy (the authentication methods policy entry). */
export interface TapPolicy {
  state: 'enabled' | 'disabled';
  /** Graph: 10..43200, and min ≤ default ≤ max. */
  minimumLifetimeInMinutes: number;
  maximumLifetimeInMinutes: number;
  defaultLifetimeInMinutes: number;
  /** true: every pass in the tenant is one-time; false: a request may choose. */
  isUsableOnce: boolean;
  /** Characters of a pass, 8..48. */
  defaultLength: number;
}

/** Entra's defaults for a new tenant: 1 hour to 8 hours, 1 hour by default, reusable, 8 characters. */
export const defaultTapPolicy: TapPolicy = {
  state: 'enabled',
  minimumLifetimeInMinutes: 60,
  maximumLifetimeInMinutes: 480,
  defaultLifetimeInMinutes: 60,
  isUsableOnce: false,
  defaultLength: 8,
};

/**
 * What a second POST does while the user still holds a usable pass: `reject` (400, as Tunnus must
 * expect from the service: delete the earlier pass first) or `replace` (the earlier pass is deleted,
 * as the v1.0 reference now describes for an administrator).
 */
export type ExistingTapMode = 'reject' | 'replace';

interface StoredTap {
  id: string;
  userId: string;
  value: string;
  createdDateTime: string;
  startAt: number;
  lifetimeInMinutes: number;
  isUsableOnce: boolean;
  used: boolean;
}

const badRequest = (message: string) => new GraphFailure(400, 'badRequest', message);

/** What the simulator's sign-in with a pass answers (admin helper; Graph has no such call). */
export type TapSignIn = 'signedIn' | 'invalid' | 'notYetValid' | 'expired' | 'oneTimeUsed';

export class TapStore {
  private readonly byUser = new Map<string, StoredTap>();
  policy: TapPolicy;
  onExisting: ExistingTapMode;

  constructor(
    private readonly initial: { policy: TapPolicy; onExisting: ExistingTapMode },
    private readonly now: () => number = Date.now,
  ) {
    this.policy = { ...initial.policy };
    this.onExisting = initial.onExisting;
  }

  reset(): void {
    this.byUser.clear();
    this.policy = { ...this.initial.policy };
    this.onExisting = this.initial.onExisting;
  }

  setPolicy(changes: Partial<TapPolicy>): void {
    const next = { ...this.policy, ...changes };
    const inRange = (n: number) => Number.isInteger(n) && n >= 10 && n <= 43200;
    if (
      !inRange(next.minimumLifetimeInMinutes) ||
      !inRange(next.maximumLifetimeInMinutes) ||
      next.minimumLifetimeInMinutes > next.maximumLifetimeInMinutes ||
      next.defaultLifetimeInMinutes < next.minimumLifetimeInMinutes ||
      next.defaultLifetimeInMinutes > next.maximumLifetimeInMinutes ||
      !Number.isInteger(next.defaultLength) ||
      next.defaultLength < 8 ||
      next.defaultLength > 48
    ) {
      throw badRequest('Invalid Temporary Access Pass policy.');
    }
    this.policy = next;
  }

  /** POST /users/{id}/authentication/temporaryAccessPassMethods for the (existing) user. */
  create(userId: string, body: Record<string, unknown>): Record<string, unknown> {
    for (const key of Object.keys(body)) {
      if (!['startDateTime', 'lifetimeInMinutes', 'isUsableOnce', '@odata.type'].includes(key)) {
        throw badRequest(`Invalid property '${key}' for temporaryAccessPassAuthenticationMethod.`);
      }
    }
    const p = this.policy;
    if (p.state !== 'enabled') {
      throw badRequest(
        'Temporary Access Pass is not enabled for this user by the authentication methods policy.',
      );
    }
    const lifetime = body.lifetimeInMinutes ?? p.defaultLifetimeInMinutes;
    if (
      typeof lifetime !== 'number' ||
      !Number.isInteger(lifetime) ||
      lifetime < p.minimumLifetimeInMinutes ||
      lifetime > p.maximumLifetimeInMinutes
    ) {
      // The service's own wording (it names the policy's bounds).
      throw badRequest(
        `Invalid LifetimeInMinutes specified. The valid range between ${p.minimumLifetimeInMinutes} and ${p.maximumLifetimeInMinutes}.`,
      );
    }
    const once = body.isUsableOnce ?? p.isUsableOnce;
    if (typeof once !== 'boolean') throw badRequest("Invalid value specified for property 'isUsableOnce'.");
    if (p.isUsableOnce && !once) {
      throw badRequest('The authentication methods policy requires a one-time Temporary Access Pass.');
    }
    const now = this.now();
    let startAt = now;
    if (body.startDateTime !== undefined && body.startDateTime !== null) {
      const parsed = typeof body.startDateTime === 'string' ? Date.parse(body.startDateTime) : NaN;
      if (Number.isNaN(parsed)) throw badRequest("Invalid value specified for property 'startDateTime'.");
      // A start a little in the past (clock skew) is taken as now; further back is refused.
      if (parsed < now - 5 * 60_000) throw badRequest('StartDateTime cannot be in the past.');
      startAt = Math.max(parsed, now);
    }
    const existing = this.byUser.get(userId);
    if (existing && this.stillCounts(existing)) {
      if (this.onExisting === 'reject') {
        throw badRequest(
          'The user already has a Temporary Access Pass. Delete the existing Temporary Access Pass before creating a new one.',
        );
      }
    }
    const tap: StoredTap = {
      id: randomUUID(),
      userId,
      value: newPassValue(p.defaultLength),
      createdDateTime: new Date(now).toISOString(),
      startAt,
      lifetimeInMinutes: lifetime,
      isUsableOnce: once,
      used: false,
    };
    this.byUser.set(userId, tap);
    return { ...this.view(tap), temporaryAccessPass: tap.value };
  }

  list(userId: string): Record<string, unknown>[] {
    const tap = this.byUser.get(userId);
    return tap ? [this.view(tap)] : [];
  }

  get(userId: string, id: string): Record<string, unknown> {
    const tap = this.byUser.get(userId);
    if (!tap || tap.id !== id) throw notFound(id);
    return this.view(tap);
  }

  delete(userId: string, id: string): void {
    const tap = this.byUser.get(userId);
    if (!tap || tap.id !== id) throw notFound(id);
    this.byUser.delete(userId);
  }

  /** Every pass of a user goes with the user (delete) — Entra removes its methods too. */
  dropUser(userId: string): void {
    this.byUser.delete(userId);
  }

  /** A sign-in with the pass, as the login page would judge it; a one-time pass is used up. */
  signIn(userId: string, value: string): TapSignIn {
    const tap = this.byUser.get(userId);
    if (!tap || tap.value !== value) return 'invalid';
    const reason = this.usability(tap);
    if (reason === 'NotYetValid') return 'notYetValid';
    if (reason === 'Expired') return 'expired';
    if (reason === 'OneTimeUsed') return 'oneTimeUsed';
    if (tap.isUsableOnce) tap.used = true;
    return 'signedIn';
  }

  /** A pass that blocks a new one: not expired and not used up (a future one counts). */
  private stillCounts(tap: StoredTap): boolean {
    const reason = this.usability(tap);
    return reason === 'EnabledByPolicy' || reason === 'NotYetValid';
  }

  private usability(tap: StoredTap): 'EnabledByPolicy' | 'NotYetValid' | 'Expired' | 'OneTimeUsed' {
    const now = this.now();
    if (tap.used) return 'OneTimeUsed';
    if (now < tap.startAt) return 'NotYetValid';
    if (now >= tap.startAt + tap.lifetimeInMinutes * 60_000) return 'Expired';
    return 'EnabledByPolicy';
  }

  private view(tap: StoredTap): Record<string, unknown> {
    const reason = this.usability(tap);
    return {
      id: tap.id,
      isUsable: reason === 'EnabledByPolicy',
      methodUsabilityReason: reason,
      temporaryAccessPass: null,
      createdDateTime: tap.createdDateTime,
      startDateTime: new Date(tap.startAt).toISOString(),
      lifetimeInMinutes: tap.lifetimeInMinutes,
      isUsableOnce: tap.isUsableOnce,
    };
  }
}

const notFound = (id: string) =>
  new GraphFailure(404, 'itemNotFound', `The Temporary Access Pass method '${id}' was not found.`);

/** Letters and digits without the look-alikes (0/O, 1/l/I), plus a few symbols, as Entra's passes. */
const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+@';

function newPassValue(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}
