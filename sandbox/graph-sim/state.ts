import { randomUUID } from 'node:crypto';
import { exchangePlanNames, resolveSkus, type SkuDefinition, type SkuSeats } from './skus';

// The tenant as the simulator keeps it: users, soft-deleted users, SKUs with seat accounting, and
// the timing behaviour of the real service (replication lag, mailbox provisioning). Every rule
// that the real service enforces and Tunnus relies on is enforced here, with the real error.

/** A Graph error the server renders as the real envelope. */
export class GraphFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { code: string; message: string; target?: string }[],
  ) {
    super(message);
  }
}

export interface AssignedLicense {
  skuId: string;
  disabledPlans: string[];
}

export interface SimUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mailNickname: string;
  employeeId: string | null;
  accountEnabled: boolean;
  usageLocation: string | null;
  jobTitle: string | null;
  department: string | null;
  officeLocation: string | null;
  /** Whether the global address list shows the user (null: never set, which counts as shown). */
  showInAddressList: boolean | null;
  preferredLanguage: string | null;
  companyName: string | null;
  businessPhones: string[];
  mobilePhone: string | null;
  mail: string | null;
  proxyAddresses: string[];
  onPremisesImmutableId: string | null;
  onPremisesSyncEnabled: boolean | null;
  assignedLicenses: AssignedLicense[];
  createdDateTime: string;
  signInSessionsValidFromDateTime: string;
  deletedDateTime: string | null;
}

/** Simulator-only bookkeeping that Graph never returns. */
interface UserMeta {
  /** Reads and writes by id 404 before this instant (replication lag). */
  visibleAt: number;
  /** A soft-deleted user shows in deletedItems only from this instant (recycle-bin lag). */
  deletedVisibleAt?: number;
  /** When the Exchange mailbox exists; null while no Exchange plan is enabled. */
  mailboxReadyAt: number | null;
  password: string;
}

export type Sku = SkuDefinition & { enabled: number };

export interface StateOptions {
  skus: (SkuSeats | Sku)[];
  replicationLagMs: number;
  mailboxDelayMs: number;
  /**
   * Recycle-bin lag: a soft-deleted user appears in deletedItems only this long after the delete
   * (reads by id and listings 404 or omit it, and so does a purge sent meanwhile), and a purged one
   * still reads from deletedItems this long after the purge. Default 0.
   */
  recycleBinLagMs?: number;
  now?: () => number;
}

const notFound = (id: string) =>
  new GraphFailure(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

const badRequest = (message: string, details?: GraphFailure['details']) =>
  new GraphFailure(400, 'Request_BadRequest', message, details);

const invalidValue = (prop: string, resource = 'User') =>
  badRequest(`Invalid value specified for property '${prop}' of resource '${resource}'.`);

/** Properties a client may set on create or PATCH; others are read-only or unknown. */
const writable = new Set([
  'accountEnabled',
  'displayName',
  'givenName',
  'surname',
  'mailNickname',
  'userPrincipalName',
  'employeeId',
  'usageLocation',
  'jobTitle',
  'department',
  'officeLocation',
  'showInAddressList',
  'preferredLanguage',
  'companyName',
  'businessPhones',
  'mobilePhone',
  'mail',
  'onPremisesImmutableId',
  'passwordProfile',
]);
const readOnly = new Set([
  'id',
  'proxyAddresses',
  'assignedLicenses',
  'createdDateTime',
  'deletedDateTime',
  'onPremisesSyncEnabled',
]);

export class GraphState {
  readonly users = new Map<string, SimUser>();
  /** Soft-deleted users as the primary holds them (reads see them after the recycle-bin lag). */
  readonly deleted = new Map<string, SimUser>();
  /** Purged users that stale replicas still return, until the instant. */
  private readonly purged = new Map<string, { user: SimUser; until: number }>();
  private readonly meta = new Map<string, UserMeta>();
  skus: Sku[];
  replicationLagMs: number;
  recycleBinLagMs: number;
  mailboxDelayMs: number;
  private readonly now: () => number;

  constructor(private readonly options: StateOptions) {
    this.skus = resolveSkus(options.skus);
    this.replicationLagMs = options.replicationLagMs;
    this.mailboxDelayMs = options.mailboxDelayMs;
    this.recycleBinLagMs = options.recycleBinLagMs ?? 0;
    this.now = options.now ?? Date.now;
  }

  reset(): void {
    this.users.clear();
    this.deleted.clear();
    this.purged.clear();
    this.meta.clear();
    this.skus = resolveSkus(this.options.skus);
    this.replicationLagMs = this.options.replicationLagMs;
    this.recycleBinLagMs = this.options.recycleBinLagMs ?? 0;
    this.mailboxDelayMs = this.options.mailboxDelayMs;
  }

  setSkus(skus: (SkuSeats | Sku)[]): void {
    this.skus = resolveSkus(skus);
  }

  // ---- users ---------------------------------------------------------------------------------

  /** A live user by id or UPN, honouring replication lag. */
  getUser(idOrUpn: string): SimUser {
    const user = this.findLive(idOrUpn);
    if (!user || !this.visible(user)) throw notFound(idOrUpn);
    this.refreshMailbox(user);
    return user;
  }

  /**
   * Live users a list or filter may return (replicas that have caught up), among those the
   * prefilter keeps (it must not read mail or proxyAddresses, which a ready mailbox stamps).
   * One pass with one clock reading: every `$filter` read goes over all users, so at a bench's
   * tens of thousands this loop is the simulator's own cost per request (Graph has an index).
   */
  listUsers(prefilter?: (u: SimUser) => boolean): SimUser[] {
    const now = this.now();
    const users: SimUser[] = [];
    for (const user of this.users.values()) {
      if (prefilter && !prefilter(user)) continue;
      const meta = this.meta.get(user.id);
      if (now < (meta?.visibleAt ?? 0)) continue;
      if (meta && meta.mailboxReadyAt !== null && now >= meta.mailboxReadyAt) this.stampMailbox(user);
      users.push(user);
    }
    return users;
  }

  createUser(
    body: Record<string, unknown>,
    opts: { synced?: boolean; visibleAfterMs?: number } = {},
  ): SimUser {
    this.rejectUnknownOrReadOnly(body, opts.synced === true);
    const str = (k: string) => {
      const v = body[k];
      return typeof v === 'string' ? v : null;
    };
    for (const required of ['displayName', 'mailNickname', 'userPrincipalName']) {
      if (!str(required)) throw invalidValue(required);
    }
    if (typeof body.accountEnabled !== 'boolean') throw invalidValue('accountEnabled');
    const passwordProfile = body.passwordProfile as { password?: unknown } | undefined;
    if (
      !opts.synced &&
      (typeof passwordProfile?.password !== 'string' || passwordProfile.password.length < 8)
    ) {
      throw badRequest('The specified password does not comply with password complexity requirements.', [
        {
          code: 'PasswordViolation',
          message: 'Password complexity requirements not met.',
          target: 'passwordProfile',
        },
      ]);
    }
    const upn = str('userPrincipalName')!;
    if (!/^[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}$/i.test(upn)) throw invalidValue('userPrincipalName');
    this.assertUnique('userPrincipalName', upn);
    const mail = str('mail');
    if (mail) this.assertUnique('mail', mail);
    const usageLocation = str('usageLocation');
    if (usageLocation !== null && !/^[A-Z]{2}$/.test(usageLocation)) throw invalidValue('usageLocation');
    const now = new Date(this.now()).toISOString();
    const user: SimUser = {
      id: randomUUID(),
      userPrincipalName: upn,
      displayName: str('displayName')!,
      givenName: str('givenName'),
      surname: str('surname'),
      mailNickname: str('mailNickname')!,
      employeeId: str('employeeId'),
      accountEnabled: body.accountEnabled,
      usageLocation,
      jobTitle: str('jobTitle'),
      department: str('department'),
      officeLocation: str('officeLocation'),
      showInAddressList: typeof body.showInAddressList === 'boolean' ? body.showInAddressList : null,
      preferredLanguage: str('preferredLanguage'),
      companyName: str('companyName'),
      businessPhones: Array.isArray(body.businessPhones) ? (body.businessPhones as string[]) : [],
      mobilePhone: str('mobilePhone'),
      mail,
      proxyAddresses: mail ? [`SMTP:${mail}`] : [],
      onPremisesImmutableId: str('onPremisesImmutableId'),
      onPremisesSyncEnabled: opts.synced ? true : null,
      assignedLicenses: [],
      createdDateTime: now,
      signInSessionsValidFromDateTime: now,
      deletedDateTime: null,
    };
    this.users.set(user.id, user);
    this.meta.set(user.id, {
      visibleAt: this.now() + (opts.visibleAfterMs ?? this.replicationLagMs),
      mailboxReadyAt: null,
      password: typeof passwordProfile?.password === 'string' ? passwordProfile.password : '',
    });
    return user;
  }

  updateUser(idOrUpn: string, body: Record<string, unknown>): void {
    const user = this.getUser(idOrUpn);
    this.rejectUnknownOrReadOnly(body, false);
    if (user.onPremisesSyncEnabled) {
      // Synced users are mastered on-premises; the cloud may only set cloud-only properties.
      const mastered = Object.keys(body).filter((k) => k !== 'usageLocation');
      if (mastered.length > 0) {
        throw badRequest(
          'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.',
        );
      }
    }
    for (const [key, value] of Object.entries(body)) {
      switch (key) {
        case 'accountEnabled':
          if (typeof value !== 'boolean') throw invalidValue(key);
          user.accountEnabled = value;
          break;
        case 'showInAddressList':
          if (value !== null && typeof value !== 'boolean') throw invalidValue(key);
          user.showInAddressList = value;
          break;
        case 'usageLocation':
          if (value !== null && (typeof value !== 'string' || !/^[A-Z]{2}$/.test(value)))
            throw invalidValue(key);
          user.usageLocation = value;
          break;
        case 'businessPhones':
          // Entra keeps at most one business phone even though the property is a collection.
          if (!Array.isArray(value) || value.length > 1 || value.some((v) => typeof v !== 'string')) {
            throw invalidValue(key);
          }
          user.businessPhones = [...(value as string[])];
          break;
        case 'userPrincipalName':
          if (typeof value !== 'string') throw invalidValue(key);
          if (value.toLowerCase() !== user.userPrincipalName.toLowerCase()) this.assertUnique(key, value);
          user.userPrincipalName = value;
          break;
        case 'mail':
          if (value !== null && typeof value !== 'string') throw invalidValue(key);
          if (value && value.toLowerCase() !== user.mail?.toLowerCase()) this.assertUnique(key, value);
          user.mail = value;
          break;
        case 'passwordProfile': {
          const p = value as { password?: unknown };
          if (typeof p?.password !== 'string' || p.password.length < 8) throw invalidValue(key);
          this.meta.get(user.id)!.password = p.password;
          break;
        }
        case 'displayName':
        case 'mailNickname':
          if (typeof value !== 'string' || value === '') throw invalidValue(key);
          user[key] = value;
          break;
        default: {
          if (value !== null && typeof value !== 'string') throw invalidValue(key);
          (user as unknown as Record<string, unknown>)[key] = value;
        }
      }
    }
  }

  /** Soft delete: the user moves to deletedItems and gives back its seats. */
  deleteUser(idOrUpn: string): void {
    const user = this.getUser(idOrUpn);
    this.users.delete(user.id);
    user.deletedDateTime = new Date(this.now()).toISOString();
    this.deleted.set(user.id, user);
    const meta = this.meta.get(user.id)!;
    meta.mailboxReadyAt = null;
    meta.deletedVisibleAt = this.now() + this.recycleBinLagMs;
  }

  /** What a read of deletedItems/{id} returns: visible soft-deleted users, and stale purged ones. */
  getDeleted(id: string): SimUser {
    const user = this.deleted.get(id);
    if (user && this.deletedVisible(id)) return user;
    const ghost = this.purged.get(id);
    if (ghost && this.now() < ghost.until) return ghost.user;
    throw notFound(id);
  }

  /** What a listing of deletedItems returns (the same lag as reads by id). */
  listDeleted(): SimUser[] {
    const now = this.now();
    return [
      ...[...this.deleted.values()].filter((u) => this.deletedVisible(u.id)),
      ...[...this.purged.values()].filter((g) => now < g.until).map((g) => g.user),
    ];
  }

  /** A write (restore, purge) needs the item in the recycle bin and past the lag. */
  private deletedForWrite(id: string): SimUser {
    const user = this.deleted.get(id);
    if (!user || !this.deletedVisible(id)) throw notFound(id);
    return user;
  }

  private deletedVisible(id: string): boolean {
    return this.now() >= (this.meta.get(id)?.deletedVisibleAt ?? 0);
  }

  /** Restores a soft-deleted user; licences come back only as far as seats allow. */
  restoreUser(id: string): SimUser {
    const user = this.deletedForWrite(id);
    this.assertUnique('userPrincipalName', user.userPrincipalName);
    user.assignedLicenses = user.assignedLicenses.filter((l) => {
      const sku = this.skus.find((s) => s.skuId === l.skuId);
      return sku !== undefined && this.consumed(sku.skuId) < sku.enabled;
    });
    user.deletedDateTime = null;
    this.deleted.delete(id);
    this.users.set(id, user);
    this.meta.get(id)!.mailboxReadyAt = null;
    this.updateMailboxProvisioning(user);
    return user;
  }

  purgeDeleted(id: string): void {
    const user = this.deletedForWrite(id);
    this.deleted.delete(id);
    this.meta.delete(id);
    if (this.recycleBinLagMs > 0) this.purged.set(id, { user, until: this.now() + this.recycleBinLagMs });
  }

  revokeSessions(idOrUpn: string): void {
    this.getUser(idOrUpn).signInSessionsValidFromDateTime = new Date(this.now()).toISOString();
  }

  // ---- licences --------------------------------------------------------------------------------

  consumed(skuId: string): number {
    let n = 0;
    for (const u of this.users.values()) if (u.assignedLicenses.some((l) => l.skuId === skuId)) n++;
    return n;
  }

  /** consumed() of every SKU in one pass over the users: skuId → users holding it. */
  private consumedBySku(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const u of this.users.values()) {
      const held = u.assignedLicenses;
      for (let i = 0; i < held.length; i++) {
        const skuId = held[i]!.skuId;
        // A user counts once per SKU, as in consumed().
        let first = true;
        for (let j = 0; j < i && first; j++) first = held[j]!.skuId !== skuId;
        if (first) counts.set(skuId, (counts.get(skuId) ?? 0) + 1);
      }
    }
    return counts;
  }

  assignLicense(idOrUpn: string, body: Record<string, unknown>): SimUser {
    const missing = ['addLicenses', 'removeLicenses'].filter((k) => !(k in body) || body[k] === null);
    if (missing.length > 0) {
      throw badRequest(
        `One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: ${missing.join(', ')}.`,
      );
    }
    const user = this.getUser(idOrUpn);
    if (!Array.isArray(body.addLicenses) || !Array.isArray(body.removeLicenses))
      throw invalidValue('addLicenses');
    const add = body.addLicenses as { skuId?: unknown; disabledPlans?: unknown }[];
    const remove = body.removeLicenses as unknown[];
    if (add.length > 0 && !user.usageLocation) {
      throw badRequest('License assignment cannot be done for user with invalid usage location.');
    }
    const adds: AssignedLicense[] = [];
    for (const a of add) {
      const sku = this.skus.find((s) => s.skuId === a.skuId);
      if (!sku)
        throw badRequest(`License ${String(a.skuId)} does not correspond to a valid company License.`);
      const disabled = Array.isArray(a.disabledPlans) ? (a.disabledPlans as string[]) : [];
      for (const planId of disabled) {
        if (!sku.servicePlans.some((p) => p.servicePlanId === planId)) {
          throw invalidValue('disabledPlans', 'AssignedLicense');
        }
      }
      adds.push({ skuId: sku.skuId, disabledPlans: [...new Set(disabled)] });
    }
    for (const r of remove) {
      if (!user.assignedLicenses.some((l) => l.skuId === r))
        throw badRequest('User does not have a corresponding license.');
    }
    for (const a of adds) {
      const already = user.assignedLicenses.some((l) => l.skuId === a.skuId) && !remove.includes(a.skuId);
      const sku = this.skus.find((s) => s.skuId === a.skuId)!;
      if (!already && this.consumed(sku.skuId) >= sku.enabled) {
        throw badRequest(`Subscription with SKU ${sku.skuId} does not have any available licenses.`);
      }
    }
    user.assignedLicenses = user.assignedLicenses.filter((l) => !remove.includes(l.skuId));
    for (const a of adds) {
      const existing = user.assignedLicenses.find((l) => l.skuId === a.skuId);
      if (existing) existing.disabledPlans = a.disabledPlans;
      else user.assignedLicenses.push(a);
    }
    this.updateMailboxProvisioning(user);
    return user;
  }

  /** Per assigned SKU, each plan with its provisioning status (Exchange pends until the mailbox exists). */
  licenseDetails(idOrUpn: string) {
    const user = this.getUser(idOrUpn);
    const ready = this.mailboxReady(user);
    return user.assignedLicenses.map((l) => {
      const sku = this.skus.find((s) => s.skuId === l.skuId);
      return {
        id: Buffer.from(`${user.id}:${l.skuId}`).toString('base64url'),
        skuId: l.skuId,
        skuPartNumber: sku?.skuPartNumber ?? null,
        servicePlans: (sku?.servicePlans ?? []).map((p) => ({
          servicePlanId: p.servicePlanId,
          servicePlanName: p.servicePlanName,
          appliesTo: 'User',
          provisioningStatus: l.disabledPlans.includes(p.servicePlanId)
            ? 'Disabled'
            : exchangePlanNames.has(p.servicePlanName) && !ready
              ? 'PendingProvisioning'
              : 'Success',
        })),
      };
    });
  }

  subscribedSkus() {
    const consumed = this.consumedBySku();
    return this.skus.map((s) => {
      const consumedUnits = consumed.get(s.skuId) ?? 0;
      return {
        accountId: tenantId,
        accountName: 'kerava',
        appliesTo: 'User',
        capabilityStatus: 'Enabled',
        consumedUnits,
        id: `${tenantId}_${s.skuId}`,
        skuId: s.skuId,
        skuPartNumber: s.skuPartNumber,
        subscriptionIds: [],
        prepaidUnits: { enabled: s.enabled, suspended: 0, warning: 0, lockedOut: 0 },
        servicePlans: s.servicePlans.map((p) => ({
          servicePlanId: p.servicePlanId,
          servicePlanName: p.servicePlanName,
          provisioningStatus: 'Success',
          appliesTo: 'User',
        })),
      };
    });
  }

  // ---- mailbox ---------------------------------------------------------------------------------

  mailboxReady(user: SimUser): boolean {
    const at = this.meta.get(user.id)?.mailboxReadyAt;
    return at !== null && at !== undefined && this.now() >= at;
  }

  mailboxSettings(idOrUpn: string) {
    const user = this.getUser(idOrUpn);
    if (!this.mailboxReady(user)) {
      throw new GraphFailure(
        404,
        'MailboxNotEnabledForRESTAPI',
        'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
      );
    }
    return {
      archiveFolder: 'AAMkAGI2AAEuAAAAAAA=',
      timeZone: 'FLE Standard Time',
      automaticRepliesSetting: {
        status: 'disabled',
        externalAudience: 'all',
        internalReplyMessage: '',
        externalReplyMessage: '',
      },
      dateFormat: 'd.M.yyyy',
      timeFormat: 'H:mm',
      delegateMeetingMessageDeliveryOptions: 'sendToDelegateOnly',
      userPurpose: 'user',
      language: { locale: 'fi-FI', displayName: 'suomi (Suomi)' },
      workingHours: {
        daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'],
        startTime: '08:00:00.0000000',
        endTime: '16:00:00.0000000',
        timeZone: { name: 'FLE Standard Time' },
      },
    };
  }

  // ---- internals -------------------------------------------------------------------------------

  private findLive(idOrUpn: string): SimUser | undefined {
    const byId = this.users.get(idOrUpn);
    if (byId) return byId;
    const lower = idOrUpn.toLowerCase();
    for (const u of this.users.values()) if (u.userPrincipalName.toLowerCase() === lower) return u;
    return undefined;
  }

  private visible(user: SimUser): boolean {
    return this.now() >= (this.meta.get(user.id)?.visibleAt ?? 0);
  }

  /** Uniqueness is checked against the primary, so users still replicating count too. */
  private assertUnique(prop: 'userPrincipalName' | 'mail', value: string): void {
    const lower = value.toLowerCase();
    const clash = [...this.users.values()].some(
      (u) =>
        u.userPrincipalName.toLowerCase() === lower ||
        u.mail?.toLowerCase() === lower ||
        u.proxyAddresses.some((p) => p.toLowerCase() === `smtp:${lower}`),
    );
    if (clash) {
      const message = `Another object with the same value for property ${prop} already exists.`;
      throw badRequest(message, [{ code: 'ObjectConflict', message, target: prop }]);
    }
  }

  private rejectUnknownOrReadOnly(body: Record<string, unknown>, allowSynced: boolean): void {
    for (const key of Object.keys(body)) {
      if (readOnly.has(key) && !(allowSynced && key === 'onPremisesSyncEnabled')) {
        throw badRequest(`Property '${key}' is read-only and cannot be set.`);
      }
      if (!writable.has(key) && !readOnly.has(key)) {
        throw badRequest(`Property '${key}' does not exist as a declared property or extension property.`);
      }
    }
  }

  /** Starts (or stops) mailbox provisioning when an Exchange plan is enabled (or no longer is). */
  private updateMailboxProvisioning(user: SimUser): void {
    const meta = this.meta.get(user.id)!;
    const hasExchange = user.assignedLicenses.some((l) => {
      const sku = this.skus.find((s) => s.skuId === l.skuId);
      return sku?.servicePlans.some(
        (p) => exchangePlanNames.has(p.servicePlanName) && !l.disabledPlans.includes(p.servicePlanId),
      );
    });
    if (!hasExchange) meta.mailboxReadyAt = null;
    else if (meta.mailboxReadyAt === null) meta.mailboxReadyAt = this.now() + this.mailboxDelayMs;
  }

  /** Once the mailbox exists, Exchange stamps mail and the primary SMTP address on the user. */
  private refreshMailbox(user: SimUser): void {
    if (this.mailboxReady(user)) this.stampMailbox(user);
  }

  private stampMailbox(user: SimUser): void {
    if (!user.mail) user.mail = user.userPrincipalName;
    const primary = `SMTP:${user.mail}`;
    if (!user.proxyAddresses.includes(primary)) {
      user.proxyAddresses = [primary, ...user.proxyAddresses.filter((p) => !p.startsWith('SMTP:'))];
    }
  }
}

/** The simulated tenant's id. */
export const tenantId = 'c8a9d1f4-5e2b-4b7a-9d3e-0f1a2b3c4d5e';
