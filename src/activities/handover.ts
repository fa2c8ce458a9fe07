import { randomInt } from 'node:crypto';
import { ApplicationFailure, log } from '@temporalio/activity';
import type { CloudDirectory } from '../connectors/graph/cloud-directory';
import { TapConflictError } from '../connectors/graph/errors';
import type { Directory } from '../connectors/ldap/directory';
import {
  credentialRecipient,
  handoverFor,
  handoverKey,
  languageOf,
  oneTimePassword,
  type CredentialKind,
  type HandoverPlan,
} from '../domain/credentials';
import { ErrorType } from '../domain/error-types';
import type { IdentityRecord } from '../domain/identity';
import type { NoticeCatalogue } from '../domain/notices';
import type { Policy } from '../domain/policy';
import type { HandoverLedger } from '../store/handover-ledger';
import { requireDirectoryAccount } from './directory';
import { guard } from './failures';
import { deliverSecretNotice } from './notify';

// The first-day credential handover: one activity generates the credential, sets it (a Temporary
// Access Pass in the cloud, or a one-time AD password the person must change at the first logon)
// and e-mails it through the notice channel (Graph sendMail from the policy's shared mailbox) to
// the recipient the policy names, in the person's language. The secret exists only inside this
// call: it is not returned (the result is metadata), logged, counted or put in an error.
//
// Idempotent per person and start date through the handover ledger: delivered → nothing more
// (unless an operator re-issues). A call that finds an issue begun but not delivered (a retry after
// the credential was set, a worker that died mid-send) cannot know whether the earlier credential
// reached anyone, so it issues a fresh one — deleting the active pass first: one per user — and
// the message says the earlier one is void.

export interface HandoverRequest {
  employeeId: string;
  /** The merged record the run planned with: language, manager, unit, school, role. */
  record: IdentityRecord;
  /** An operator asked for a new credential: issued even if the last one was delivered. */
  reissue?: boolean;
}

export type HandoverResult =
  | {
      status: 'delivered';
      kind: CredentialKind;
      /** 1 for the first credential under this start date; more means earlier ones were voided. */
      issue: number;
      /** manager, school, fallback: where it went (never the address). */
      via: string;
      /** When the pass stops working (TAP only). */
      validUntil?: string;
    }
  | { status: 'already-delivered'; kind: CredentialKind; issue: number; via?: string }
  /** The policy turns handovers off, or has no mail channel. */
  | { status: 'not-configured' };

export interface HandoverDeps {
  /** Pass methods and sendMail (the notice channel takes the whole connector). */
  cloud: CloudDirectory;
  directory: Directory;
  policy: Policy;
  ledger: () => HandoverLedger;
  /** Default: config/notices.yaml. */
  catalogue?: NoticeCatalogue;
  /** Draws 0..n-1 for passwords (crypto by default). */
  pick?: (n: number) => number;
}

/** Templates of the handover message per credential kind (config/notices.yaml). */
export const HANDOVER_TEMPLATES: Record<CredentialKind, string> = {
  temporaryAccessPass: 'credential',
  initialPassword: 'credential-password',
};

export const createHandoverActivities = (deps: HandoverDeps) => {
  const pick = deps.pick ?? ((n: number) => randomInt(n));

  /** A fresh pass: every earlier one deleted first (Graph allows one per user). */
  async function freshPass(employeeId: string, plan: HandoverPlan) {
    for (let attempt = 1; ; attempt++) {
      for (const held of await deps.cloud.listTemporaryAccessPasses(employeeId)) {
        await deps.cloud.deleteTemporaryAccessPass(employeeId, held.id);
      }
      try {
        return await deps.cloud.createTemporaryAccessPass(employeeId, {
          lifetimeInMinutes: plan.temporaryAccessPass.lifetimeMinutes,
          isUsableOnce: plan.temporaryAccessPass.usableOnce,
        });
      } catch (err) {
        // A pass appeared between the list and the create (a concurrent attempt): once more.
        if (err instanceof TapConflictError && attempt < 3) continue;
        throw err;
      }
    }
  }

  return {
    /** Issues, sets and delivers the person's first-day credential; returns metadata only. */
    async handOverCredential(req: HandoverRequest): Promise<HandoverResult> {
      return guard(async () => {
        const { employeeId, record } = req;
        const plan = handoverFor(deps.policy, record);
        if (!plan) return { status: 'not-configured' as const };
        if (!deps.policy.mail) {
          log.warn('alert: no mail channel in the policy: no first-day credential', {
            alert: ErrorType.HandoverUndeliverable,
            employeeId,
          });
          return { status: 'not-configured' as const };
        }
        const key = handoverKey(employeeId, record.startDate);
        const ledger = deps.ledger();
        const earlier = await ledger.get(key);
        if (earlier?.status === 'delivered' && !req.reissue) {
          return {
            status: 'already-delivered' as const,
            kind: earlier.kind,
            issue: earlier.issues,
            ...(earlier.recipient ? { via: earlier.recipient } : {}),
          };
        }
        const account = await requireDirectoryAccount(deps.directory, employeeId);
        if (!account.enabled) {
          // The workflow hands over only after enabling; a disabled account here was changed by
          // hand (or is a leaver): a credential for it would be no use and must not go out.
          throw ApplicationFailure.create({
            type: ErrorType.HandoverNotReady,
            message: `account with employeeID ${employeeId} is disabled: no credential issued`,
            nonRetryable: true,
          });
        }
        const issue = await ledger.beginIssue({
          key,
          employeeId,
          startDate: record.startDate,
          kind: plan.kind,
          at: new Date().toISOString(),
        });
        const vars: Record<string, string> = {
          employeeId,
          displayName: account.displayName ?? account.sAMAccountName,
          // The cloud signs in with the UPN; the school's devices with the sAMAccountName.
          username: plan.kind === 'temporaryAccessPass' ? account.userPrincipalName : account.sAMAccountName,
        };
        let secret: string;
        let validUntil: string | undefined;
        if (plan.kind === 'temporaryAccessPass') {
          const pass = await freshPass(employeeId, plan);
          const from = Date.parse(pass.startDateTime) || Date.now();
          validUntil = new Date(from + pass.lifetimeInMinutes * 60_000).toISOString();
          vars.validFrom = helsinkiTime(from);
          vars.validUntil = helsinkiTime(Date.parse(validUntil));
          secret = pass.temporaryAccessPass;
        } else {
          secret = oneTimePassword(plan.initialPassword.length, pick);
          await deps.directory.setInitialPassword(account.dn, secret);
        }
        const sent = await deliverSecretNotice(deps, {
          template: HANDOVER_TEMPLATES[plan.kind],
          to: credentialRecipient(plan.deliverTo, record),
          language: languageOf(record, deps.policy),
          vars,
          secret,
          ...(issue > 1 ? { notes: ['earlierVoid'] } : {}),
        });
        await ledger.markDelivered(key, issue, sent.via, new Date().toISOString());
        log.info('first-day credential delivered', { employeeId, kind: plan.kind, issue, via: sent.via });
        return {
          status: 'delivered' as const,
          kind: plan.kind,
          issue,
          via: sent.via,
          ...(validUntil ? { validUntil } : {}),
        };
      });
    },
  };
};

export type HandoverActivities = ReturnType<typeof createHandoverActivities>;

/** Helsinki local time as YYYY-MM-DD HH:MM: one form every language reads. */
function helsinkiTime(ms: number): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Europe/Helsinki',
    dateStyle: 'short',
    timeStyle: 'short',
  }).format(new Date(ms));
}
