import type { Client } from '@microsoft/microsoft-graph-client';
import type { LicenseDetails, SubscribedSku, User } from 'microsoft-graph';
import { CloudError, TapConflictError, classifyGraphError } from './errors';

/**
 * The cloud tenant (Microsoft Entra ID / Exchange Online) as Tunnus uses it. The Graph
 * implementation below talks to Microsoft Graph (or the simulator); tests may pass a fake. Every
 * method throws a CloudError (see errors.ts) whose `kind` says whether retrying can help. Lookups
 * that find nothing return null rather than throw.
 */
export interface CloudDirectory {
  /** The live user whose employeeId equals the id, or null. A second match is a conflict (DuplicateIdentity). */
  findUserByEmployeeId(employeeId: string): Promise<CloudUser | null>;
  /** The live user by object id or userPrincipalName, or null (also null while a new user replicates). */
  getUser(idOrUpn: string): Promise<CloudUser | null>;
  /**
   * Creates a cloud-only user. Idempotent for the same identity: if the UPN is already held by a
   * user with the same employeeId (a create that committed but answered 504), that user is returned.
   * Held by another identity: CloudError conflict, not retryable. Held by an object that is not
   * readable yet (replication lag): conflict, retryable.
   */
  createUser(user: NewCloudUser): Promise<CloudUser>;
  /** Sets the given properties; a null clears one. */
  updateUser(userId: string, changes: CloudUserUpdate): Promise<void>;
  /** Every SKU of the tenant with its seats. */
  listSubscribedSkus(): Promise<CloudSku[]>;
  /** One assignLicense call. `add` with an already assigned skuId replaces its disabled plans. */
  assignLicenses(userId: string, add: LicenceAssignment[], remove: string[]): Promise<void>;
  /** Assigned licences with each service plan's provisioning status. */
  licenseDetails(userId: string): Promise<LicenceDetail[]>;
  /** Whether the Exchange Online mailbox exists (mailboxSettings answers rather than 404s). */
  mailboxReady(userId: string): Promise<boolean>;
  /** Invalidates refresh tokens and session cookies (leaver). */
  revokeSessions(userId: string): Promise<void>;
  /** Soft delete: the user goes to deletedItems for 30 days and its licences are released. */
  deleteUser(userId: string): Promise<void>;
  /** A soft-deleted user by employeeId (for a rehire within 30 days), or null. */
  findDeletedUserByEmployeeId(employeeId: string): Promise<CloudUser | null>;
  /**
   * A soft-deleted user by object id, or null. Right after a delete (or a purge) the recycle bin
   * reads are eventually consistent: null can mean "not there yet" as well as "gone".
   */
  getDeletedUser(userId: string): Promise<CloudUser | null>;
  /**
   * Deletes a soft-deleted user for good (the city's obligation to delete personal data).
   * 'notFound' when the recycle bin does not hold it (yet, or any more): the caller verifies.
   */
  purgeDeletedUser(userId: string): Promise<'purged' | 'notFound'>;
  /** Restores a soft-deleted user (licences come back as far as seats allow). */
  restoreDeletedUser(userId: string): Promise<void>;
  /** All live users (paged through @odata.nextLink), for reconciliation. */
  listUsers(): Promise<CloudUser[]>;
  /**
   * Issues a Temporary Access Pass to the user with this employeeId. The pass value is in the
   * result only (Graph never shows it again): keep it inside the activity. The tenant's TAP policy
   * bounds the lifetime; a pass the user already holds → TapConflictError (delete it first).
   * No such user → CloudError notFound.
   */
  createTemporaryAccessPass(
    employeeId: string,
    options: NewTemporaryAccessPass,
  ): Promise<TemporaryAccessPass>;
  /** The user's passes, without their values (Graph returns at most one). */
  listTemporaryAccessPasses(employeeId: string): Promise<TemporaryAccessPassInfo[]>;
  /** Deletes one pass; a pass that is already gone counts as deleted. */
  deleteTemporaryAccessPass(employeeId: string, id: string): Promise<void>;
  /**
   * Sends a message from a mailbox (the policy's shared sender) through Graph sendMail, not saved
   * to Sent Items (it may carry a credential). Graph answers 202: accepted, not yet delivered.
   */
  sendMail(fromMailbox: string, message: OutgoingMail): Promise<void>;
}

export interface NewTemporaryAccessPass {
  /** Within the tenant policy's minimum and maximum (Graph: 10..43200). */
  lifetimeInMinutes: number;
  isUsableOnce: boolean;
  /** ISO instant the pass becomes usable; default now. */
  startDateTime?: string;
}

export interface TemporaryAccessPassInfo {
  id: string;
  startDateTime: string;
  lifetimeInMinutes: number;
  isUsableOnce: boolean;
  /** Whether it can be used now (not expired, started, not used up). */
  isUsable: boolean;
  /** Graph's reason: EnabledByPolicy, NotYetValid, Expired, OneTimeUsed, … */
  methodUsabilityReason: string | null;
}

export interface TemporaryAccessPass extends Omit<
  TemporaryAccessPassInfo,
  'isUsable' | 'methodUsabilityReason'
> {
  /** The secret. Never log it, return it from an activity, or put it in an error. */
  temporaryAccessPass: string;
}

export interface OutgoingMail {
  to: string[];
  subject: string;
  body: string;
  contentType: 'Text' | 'HTML';
}

export interface CloudUser {
  id: string;
  userPrincipalName: string;
  employeeId: string | null;
  displayName: string | null;
  givenName: string | null;
  surname: string | null;
  mailNickname: string | null;
  accountEnabled: boolean | null;
  usageLocation: string | null;
  jobTitle: string | null;
  department: string | null;
  businessPhones: string[];
  mobilePhone: string | null;
  mail: string | null;
  proxyAddresses: string[];
  onPremisesImmutableId: string | null;
  /** false when hidden from the global address list (a leaver); null counts as shown. */
  showInAddressList: boolean | null;
  /** true for users that directory sync (Entra Connect) created. */
  onPremisesSyncEnabled: boolean | null;
  assignedLicenses: LicenceAssignment[];
}

export interface NewCloudUser {
  employeeId: string;
  userPrincipalName: string;
  mailNickname: string;
  displayName: string;
  givenName?: string;
  surname?: string;
  jobTitle?: string;
  department?: string;
  /** ISO 3166 alpha-2 ("FI"); required before any licence can be assigned. */
  usageLocation?: string;
  accountEnabled: boolean;
  /** Generated inside the activity; sent once, never logged or returned. */
  password: string;
  forceChangePasswordNextSignIn?: boolean;
}

export interface CloudUserUpdate {
  accountEnabled?: boolean;
  usageLocation?: string | null;
  /** Entra keeps at most one business phone. */
  businessPhones?: string[];
  mobilePhone?: string | null;
  jobTitle?: string | null;
  department?: string | null;
  displayName?: string;
  givenName?: string | null;
  surname?: string | null;
  officeLocation?: string | null;
  /** false hides the user from the global address list (leaver). */
  showInAddressList?: boolean | null;
}

export interface LicenceAssignment {
  skuId: string;
  /** servicePlanIds switched off within the SKU. */
  disabledPlans: string[];
}

export interface CloudSku {
  skuId: string;
  skuPartNumber: string;
  capabilityStatus: string;
  /** prepaidUnits.enabled */
  enabled: number;
  consumed: number;
  /** enabled − consumed, never below 0. */
  available: number;
  servicePlans: { servicePlanId: string; servicePlanName: string }[];
}

export interface LicenceDetail {
  skuId: string;
  skuPartNumber: string | null;
  servicePlans: { servicePlanId: string; servicePlanName: string; provisioningStatus: string }[];
}

/** The user properties Tunnus reads; v1.0 returns only a default few without $select. */
const userSelect = [
  'id',
  'userPrincipalName',
  'employeeId',
  'displayName',
  'givenName',
  'surname',
  'mailNickname',
  'accountEnabled',
  'usageLocation',
  'jobTitle',
  'department',
  'businessPhones',
  'mobilePhone',
  'mail',
  'proxyAddresses',
  'onPremisesImmutableId',
  'onPremisesSyncEnabled',
  'showInAddressList',
  'assignedLicenses',
].join(',');

interface Page<T> {
  value: T[];
  '@odata.nextLink'?: string;
}

/** OData string literal: single quotes doubled. */
const odataString = (s: string) => `'${s.replace(/'/g, "''")}'`;

export class GraphCloudDirectory implements CloudDirectory {
  constructor(private readonly client: Client) {}

  async findUserByEmployeeId(employeeId: string): Promise<CloudUser | null> {
    return this.call('findUserByEmployeeId', async () => {
      const page = (await this.client
        .api('/users')
        .filter(`employeeId eq ${odataString(employeeId)}`)
        .select(userSelect)
        .top(2)
        .get()) as Page<User>;
      if (page.value.length > 1) {
        throw new CloudError('findUserByEmployeeId: more than one cloud user carries the employeeId', {
          kind: 'conflict',
          retryable: false,
          property: 'employeeId',
        });
      }
      return page.value[0] ? toCloudUser(page.value[0]) : null;
    });
  }

  async getUser(idOrUpn: string): Promise<CloudUser | null> {
    return this.call('getUser', async () => {
      try {
        const user = (await this.client
          .api(`/users/${encodeURIComponent(idOrUpn)}`)
          .select(userSelect)
          .get()) as User;
        return toCloudUser(user);
      } catch (err) {
        if (classifyGraphError(err).kind === 'notFound') return null;
        throw err;
      }
    });
  }

  async createUser(user: NewCloudUser): Promise<CloudUser> {
    return this.call('createUser', async () => {
      const body: User & { employeeId: string } = {
        accountEnabled: user.accountEnabled,
        displayName: user.displayName,
        mailNickname: user.mailNickname,
        userPrincipalName: user.userPrincipalName,
        employeeId: user.employeeId,
        passwordProfile: {
          password: user.password,
          forceChangePasswordNextSignIn: user.forceChangePasswordNextSignIn ?? true,
        },
      };
      if (user.givenName !== undefined) body.givenName = user.givenName;
      if (user.surname !== undefined) body.surname = user.surname;
      if (user.jobTitle !== undefined) body.jobTitle = user.jobTitle;
      if (user.department !== undefined) body.department = user.department;
      if (user.usageLocation !== undefined) body.usageLocation = user.usageLocation;
      let created: User;
      try {
        created = (await this.client.api('/users').post(body)) as User;
      } catch (err) {
        const e = classifyGraphError(err, 'createUser');
        if (e.kind !== 'conflict' || e.property === undefined) throw e;
        return this.resolveCreateConflict(user, e);
      }
      // The POST answers with the default property set only, and a GET right now may 404 while the
      // new object replicates: build the result from what was sent plus the id.
      return {
        ...toCloudUser({ ...created, ...body, passwordProfile: undefined }),
        id: created.id!,
      };
    });
  }

  async updateUser(userId: string, changes: CloudUserUpdate): Promise<void> {
    await this.call('updateUser', async () => {
      await this.client.api(`/users/${encodeURIComponent(userId)}`).patch(changes);
    });
  }

  async listSubscribedSkus(): Promise<CloudSku[]> {
    return this.call('listSubscribedSkus', async () => {
      const page = (await this.client.api('/subscribedSkus').get()) as Page<SubscribedSku>;
      return page.value.map((s) => {
        const enabled = s.prepaidUnits?.enabled ?? 0;
        const consumed = s.consumedUnits ?? 0;
        return {
          skuId: s.skuId!,
          skuPartNumber: s.skuPartNumber ?? '',
          capabilityStatus: s.capabilityStatus ?? 'Enabled',
          enabled,
          consumed,
          available: Math.max(0, enabled - consumed),
          servicePlans: (s.servicePlans ?? []).map((p) => ({
            servicePlanId: p.servicePlanId!,
            servicePlanName: p.servicePlanName ?? '',
          })),
        };
      });
    });
  }

  async assignLicenses(userId: string, add: LicenceAssignment[], remove: string[]): Promise<void> {
    await this.call('assignLicenses', async () => {
      // Graph rejects the call unless both lists are present, even when one is empty.
      await this.client.api(`/users/${encodeURIComponent(userId)}/assignLicense`).post({
        addLicenses: add.map((a) => ({ skuId: a.skuId, disabledPlans: a.disabledPlans })),
        removeLicenses: remove,
      });
    });
  }

  async licenseDetails(userId: string): Promise<LicenceDetail[]> {
    return this.call('licenseDetails', async () => {
      const page = (await this.client
        .api(`/users/${encodeURIComponent(userId)}/licenseDetails`)
        .get()) as Page<LicenseDetails>;
      return page.value.map((d) => ({
        skuId: d.skuId!,
        skuPartNumber: d.skuPartNumber ?? null,
        servicePlans: (d.servicePlans ?? []).map((p) => ({
          servicePlanId: p.servicePlanId!,
          servicePlanName: p.servicePlanName ?? '',
          provisioningStatus: p.provisioningStatus ?? '',
        })),
      }));
    });
  }

  async mailboxReady(userId: string): Promise<boolean> {
    return this.call('mailboxReady', async () => {
      try {
        await this.client
          .api(`/users/${encodeURIComponent(userId)}/mailboxSettings`)
          .select('timeZone')
          .get();
        return true;
      } catch (err) {
        // 404 MailboxNotEnabledForRESTAPI: licensed, but Exchange has not created the mailbox yet.
        if (classifyGraphError(err).graphCode === 'MailboxNotEnabledForRESTAPI') return false;
        throw err;
      }
    });
  }

  async revokeSessions(userId: string): Promise<void> {
    await this.call('revokeSessions', async () => {
      await this.client.api(`/users/${encodeURIComponent(userId)}/revokeSignInSessions`).post({});
    });
  }

  async deleteUser(userId: string): Promise<void> {
    await this.call('deleteUser', async () => {
      await this.client.api(`/users/${encodeURIComponent(userId)}`).delete();
    });
  }

  async findDeletedUserByEmployeeId(employeeId: string): Promise<CloudUser | null> {
    return this.call('findDeletedUserByEmployeeId', async () => {
      const page = (await this.client
        .api('/directory/deletedItems/microsoft.graph.user')
        .filter(`employeeId eq ${odataString(employeeId)}`)
        .select(userSelect)
        .top(2)
        .get()) as Page<User>;
      if (page.value.length > 1) {
        throw new CloudError(
          'findDeletedUserByEmployeeId: more than one deleted user carries the employeeId',
          {
            kind: 'conflict',
            retryable: false,
            property: 'employeeId',
          },
        );
      }
      return page.value[0] ? toCloudUser(page.value[0]) : null;
    });
  }

  async restoreDeletedUser(userId: string): Promise<void> {
    await this.call('restoreDeletedUser', async () => {
      await this.client.api(`/directory/deletedItems/${encodeURIComponent(userId)}/restore`).post({});
    });
  }

  async getDeletedUser(userId: string): Promise<CloudUser | null> {
    return this.call('getDeletedUser', async () => {
      try {
        const user = (await this.client
          .api(`/directory/deletedItems/${encodeURIComponent(userId)}`)
          .select(userSelect)
          .get()) as User;
        return toCloudUser(user);
      } catch (err) {
        if (classifyGraphError(err).kind === 'notFound') return null;
        throw err;
      }
    });
  }

  async purgeDeletedUser(userId: string): Promise<'purged' | 'notFound'> {
    return this.call('purgeDeletedUser', async () => {
      try {
        await this.client.api(`/directory/deletedItems/${encodeURIComponent(userId)}`).delete();
        return 'purged' as const;
      } catch (err) {
        // Not an answer to take as success: right after the delete the item may not be readable yet.
        if (classifyGraphError(err).kind === 'notFound') return 'notFound' as const;
        throw err;
      }
    });
  }

  async listUsers(): Promise<CloudUser[]> {
    return this.call('listUsers', async () => {
      const users: CloudUser[] = [];
      let page = (await this.client.api('/users').select(userSelect).top(999).get()) as Page<User>;
      for (;;) {
        users.push(...page.value.map(toCloudUser));
        const next = page['@odata.nextLink'];
        if (!next) return users;
        page = (await this.client.api(next).get()) as Page<User>;
      }
    });
  }

  async createTemporaryAccessPass(
    employeeId: string,
    options: NewTemporaryAccessPass,
  ): Promise<TemporaryAccessPass> {
    return this.call('createTemporaryAccessPass', async () => {
      const userId = await this.userIdFor(employeeId, 'createTemporaryAccessPass');
      const body: Record<string, unknown> = {
        lifetimeInMinutes: options.lifetimeInMinutes,
        isUsableOnce: options.isUsableOnce,
      };
      if (options.startDateTime !== undefined) body.startDateTime = options.startDateTime;
      let created: GraphTap;
      try {
        created = (await this.client
          .api(`/users/${encodeURIComponent(userId)}/authentication/temporaryAccessPassMethods`)
          .post(body)) as GraphTap;
      } catch (err) {
        const e = classifyGraphError(err, 'createTemporaryAccessPass');
        if (e.status === 400 && isTapConflict(err)) throw new TapConflictError(e);
        throw e;
      }
      if (typeof created.temporaryAccessPass !== 'string' || created.temporaryAccessPass === '') {
        throw new CloudError('createTemporaryAccessPass: Graph answered without a pass', {
          kind: 'unclassified',
          retryable: true,
        });
      }
      return { ...toTapInfo(created), temporaryAccessPass: created.temporaryAccessPass };
    });
  }

  async listTemporaryAccessPasses(employeeId: string): Promise<TemporaryAccessPassInfo[]> {
    return this.call('listTemporaryAccessPasses', async () => {
      const userId = await this.userIdFor(employeeId, 'listTemporaryAccessPasses');
      const page = (await this.client
        .api(`/users/${encodeURIComponent(userId)}/authentication/temporaryAccessPassMethods`)
        .get()) as Page<GraphTap>;
      return page.value.map(toTapInfo);
    });
  }

  async deleteTemporaryAccessPass(employeeId: string, id: string): Promise<void> {
    await this.call('deleteTemporaryAccessPass', async () => {
      const userId = await this.userIdFor(employeeId, 'deleteTemporaryAccessPass');
      try {
        await this.client
          .api(
            `/users/${encodeURIComponent(userId)}/authentication/temporaryAccessPassMethods/${encodeURIComponent(id)}`,
          )
          .delete();
      } catch (err) {
        // Already gone (a retry after a delete that committed): the wanted state.
        if (classifyGraphError(err).kind === 'notFound') return;
        throw err;
      }
    });
  }

  async sendMail(fromMailbox: string, message: OutgoingMail): Promise<void> {
    await this.call('sendMail', async () => {
      await this.client.api(`/users/${encodeURIComponent(fromMailbox)}/sendMail`).post({
        message: {
          subject: message.subject,
          body: { contentType: message.contentType, content: message.body },
          toRecipients: message.to.map((address) => ({ emailAddress: { address } })),
        },
        // A credential notice must not stay in the shared mailbox's Sent Items.
        saveToSentItems: false,
      });
    });
  }

  private async userIdFor(employeeId: string, operation: string): Promise<string> {
    const user = await this.findUserByEmployeeId(employeeId);
    if (!user) {
      throw new CloudError(`${operation}: no cloud user carries the employeeId`, {
        kind: 'notFound',
        retryable: false,
        property: 'employeeId',
      });
    }
    return user.id;
  }

  /** A create hit "already exists": decide whether the holder is this identity. */
  private async resolveCreateConflict(user: NewCloudUser, conflict: CloudError): Promise<CloudUser> {
    const holder =
      conflict.property === 'userPrincipalName' ? await this.getUser(user.userPrincipalName) : null;
    if (holder && holder.employeeId === user.employeeId) return holder;
    if (holder) throw conflict; // another identity holds the name: the naming step must pick the next one
    const mine = await this.findUserByEmployeeId(user.employeeId);
    if (mine) return mine;
    // Held by an object we cannot read yet (still replicating, possibly our own committed create).
    throw new CloudError(`${conflict.message}; holder not readable yet`, {
      kind: 'conflict',
      retryable: true,
      graphCode: conflict.graphCode,
      status: conflict.status,
      requestId: conflict.requestId,
      property: conflict.property,
    });
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyGraphError(err, operation);
    }
  }
}

interface GraphTap {
  id?: string;
  temporaryAccessPass?: string | null;
  startDateTime?: string | null;
  createdDateTime?: string | null;
  lifetimeInMinutes?: number | null;
  isUsableOnce?: boolean | null;
  isUsable?: boolean | null;
  methodUsabilityReason?: string | null;
}

function toTapInfo(t: GraphTap): TemporaryAccessPassInfo {
  return {
    id: t.id ?? '',
    startDateTime: t.startDateTime ?? t.createdDateTime ?? '',
    lifetimeInMinutes: t.lifetimeInMinutes ?? 0,
    isUsableOnce: t.isUsableOnce ?? false,
    isUsable: t.isUsable ?? false,
    methodUsabilityReason: t.methodUsabilityReason ?? null,
  };
}

/** Graph's 400 for "the user already holds a pass" (the simulator's and the service's wording). */
function isTapConflict(err: unknown): boolean {
  const body = (err as { body?: unknown }).body;
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  return /already (has|have) a temporary access pass|ExistingTemporaryAccessPass/i.test(text);
}

function toCloudUser(u: User & { employeeId?: string | null }): CloudUser {
  return {
    id: u.id ?? '',
    userPrincipalName: u.userPrincipalName ?? '',
    employeeId: u.employeeId ?? null,
    displayName: u.displayName ?? null,
    givenName: u.givenName ?? null,
    surname: u.surname ?? null,
    mailNickname: u.mailNickname ?? null,
    accountEnabled: u.accountEnabled ?? null,
    usageLocation: u.usageLocation ?? null,
    jobTitle: u.jobTitle ?? null,
    department: u.department ?? null,
    businessPhones: u.businessPhones ?? [],
    mobilePhone: u.mobilePhone ?? null,
    mail: u.mail ?? null,
    proxyAddresses: u.proxyAddresses ?? [],
    onPremisesImmutableId: u.onPremisesImmutableId ?? null,
    showInAddressList: u.showInAddressList ?? null,
    onPremisesSyncEnabled: u.onPremisesSyncEnabled ?? null,
    assignedLicenses: (u.assignedLicenses ?? []).map((l) => ({
      skuId: l.skuId ?? '',
      disabledPlans: l.disabledPlans ?? [],
    })),
  };
}
