import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { CloudDirectory } from '../connectors/graph/cloud-directory';
import type { Directory } from '../connectors/ldap/directory';
import { ErrorType } from '../domain/error-types';
import {
  chooseRecipients,
  noticeRequestSchema,
  type ChosenRecipients,
  type MailPolicy,
  type NoticeRecipient,
  type NoticeRequest,
} from '../domain/notice-recipients';
import {
  NoticeError,
  NoticeErrorType,
  isSecretTemplate,
  parseNoticeCatalogue,
  renderNotice,
  type NoticeCatalogue,
  type NoticeLanguage,
  type RenderedNotice,
} from '../domain/notices';
import type { Policy } from '../domain/policy';
import type { NoticeLedger } from '../store/notice-ledger';
import { guard } from './failures';

// The notice channel (contract A): e-mail through Graph sendMail from the policy's shared mailbox.
// `sendNotice` sends one notice per key, whatever retries, replays and worker restarts happen (the
// notice ledger, src/store/notice-ledger.ts). Workflows pass ids, codes and dates; names and
// addresses are looked up here (the person by vars.employeeId, the manager by managerId), so they
// never enter workflow history. `deliverSecretNotice` is the same channel for a message carrying a
// credential: called inside the activity that issued it, the secret never leaves that activity.
// Logs carry the notice key, template and counts only.

export type { NoticeRecipient, NoticeRequest } from '../domain/notice-recipients';

export interface SendNoticeResult {
  status: 'sent' | 'already-sent';
  to: string[];
}

export interface NotifyDeps {
  cloud: CloudDirectory;
  directory: Directory;
  policy: Policy;
  /** The notice ledger, or a function opening it on first use. */
  ledger: NoticeLedger | (() => NoticeLedger);
  /** Default: config/notices.yaml, read once. */
  catalogue?: NoticeCatalogue;
  now?: () => Date;
}

/** Another owner's claim older than this is taken over (a crashed worker's attempt). */
const CLAIM_STALE_MS = 2 * 60_000;

export const defaultNoticesFile = path.resolve(__dirname, '..', '..', 'config', 'notices.yaml');

const cached = new Map<string, NoticeCatalogue>();
/**
 * The notice templates: the given file, else TUNNUS_NOTICES_FILE (src/config.ts; a container
 * mounts it), else config/notices.yaml — parsed, validated and kept once per file.
 */
export function loadNoticeCatalogue(
  file = process.env.TUNNUS_NOTICES_FILE || defaultNoticesFile,
): NoticeCatalogue {
  let catalogue = cached.get(file);
  if (!catalogue) {
    catalogue = parseNoticeCatalogue(fs.readFileSync(file, 'utf8'));
    cached.set(file, catalogue);
  }
  return catalogue;
}

export function createNotifyActivities(deps: NotifyDeps) {
  const ledger = lazy(deps.ledger);
  const now = deps.now ?? (() => new Date());
  return {
    /** Sends the notice unless the ledger says this key was sent (contract A). */
    async sendNotice(input: NoticeRequest): Promise<SendNoticeResult> {
      return guard(async () => {
        const req = parseRequest(input);
        const catalogue = deps.catalogue ?? loadNoticeCatalogue();
        const mail = mailPolicy(deps.policy);
        try {
          if (isSecretTemplate(catalogue, req.template)) {
            throw new NoticeError(
              NoticeErrorType.SecretMisuse,
              `template ${req.template} carries a credential: only the activity that issues it sends it (deliverSecretNotice)`,
              req.template,
            );
          }
        } catch (err) {
          throw noticeFailure(err);
        }
        const owner = claimOwner();
        const claim = await ledger().claim({
          key: req.key,
          template: req.template,
          owner,
          at: now().toISOString(),
          staleAfterMs: CLAIM_STALE_MS,
        });
        if (claim.outcome === 'sent') {
          log.info('notice already sent', { noticeKey: req.key, template: req.template });
          return { status: 'already-sent', to: claim.entry.to };
        }
        if (claim.outcome === 'busy') {
          throw ApplicationFailure.create({
            type: ErrorType.CloudUnavailable,
            message: `notice ${req.key} is being sent by another run; trying again`,
          });
        }
        let sent: { to: string[]; via: ChosenRecipients['via']; language: NoticeLanguage };
        try {
          sent = await composeAndSend(deps, mail, catalogue, req);
        } catch (err) {
          // Not accepted by Graph (or not even composed): the key is free again for the retry.
          await ledger()
            .release(req.key, owner)
            .catch(() => undefined);
          throw noticeFailure(err);
        }
        await ledger().markSent(req.key, owner, sent.to, now().toISOString());
        log.info('notice sent', {
          noticeKey: req.key,
          template: req.template,
          via: sent.via,
          recipients: sent.to.length,
          language: sent.language,
          ...(claim.takenOver ? { takenOver: true } : {}),
        });
        return { status: 'sent', to: sent.to };
      });
    },
  };
}

export interface SecretNoticeRequest {
  template: string;
  to: NoticeRecipient;
  language?: NoticeLanguage;
  vars: Record<string, string | number>;
  /** The credential. Rendered into the body here; never logged, returned or put in an error. */
  secret: string;
  /** Extra notes on top, e.g. `earlierVoid` for a re-issued credential. */
  notes?: string[];
}

/**
 * Sends a message carrying a credential through the notice channel, from inside the activity that
 * issued the credential (the handover). No ledger: the caller keeps its own (one credential per
 * issue). Returns where it went. Cloud errors are thrown as they are (the caller's guard classifies
 * them); template or configuration problems as non-retryable ApplicationFailures naming the field.
 * Neither ever carries the secret.
 */
export async function deliverSecretNotice(
  deps: Pick<NotifyDeps, 'cloud' | 'directory' | 'policy' | 'catalogue'>,
  req: SecretNoticeRequest,
): Promise<{ to: string[]; via: ChosenRecipients['via']; language: NoticeLanguage }> {
  const catalogue = deps.catalogue ?? loadNoticeCatalogue();
  const mail = mailPolicy(deps.policy);
  try {
    if (!isSecretTemplate(catalogue, req.template)) {
      throw new NoticeError(
        NoticeErrorType.SecretMisuse,
        `template ${req.template} takes no secret: send it with sendNotice`,
        req.template,
      );
    }
    return await composeAndSend(deps, mail, catalogue, req, req.secret, req.notes);
  } catch (err) {
    throw noticeFailure(err);
  }
}

/** Recipients, the subject person's names, rendering and the Graph call: shared by both paths. */
async function composeAndSend(
  deps: Pick<NotifyDeps, 'cloud' | 'directory' | 'policy'>,
  mail: MailPolicy,
  catalogue: NoticeCatalogue,
  req: Pick<NoticeRequest, 'template' | 'to' | 'language' | 'vars'>,
  secret?: string,
  extraNotes: readonly string[] = [],
): Promise<{ to: string[]; via: ChosenRecipients['via']; language: NoticeLanguage }> {
  const chosen = await resolveRecipients(deps.directory, mail, req.to);
  const template = catalogue.templates[req.template];
  // A manager's notice sent to a unit (the record names no manager): say so.
  if (template?.audience === 'manager' && 'unit' in req.to && Object.keys(req.to).length === 1) {
    chosen.notes.push('noManager');
  }
  const vars = {
    ...(await subjectPersonVars(deps.directory, catalogue, req)),
    ...req.vars,
    ...chosen.noteVars,
  };
  const rendered: RenderedNotice = renderNotice(catalogue, {
    template: req.template,
    language: req.language ?? mail.defaultLanguage,
    vars,
    notes: [...chosen.notes, ...extraNotes],
    ...(secret !== undefined ? { secret } : {}),
  });
  await deps.cloud.sendMail(mail.senderMailbox, {
    to: chosen.to,
    subject: rendered.subject,
    body: rendered.body,
    contentType: rendered.contentType,
  });
  return { to: chosen.to, via: chosen.via, language: rendered.language };
}

/** The addresses for a recipient; a manager is looked up in AD by employeeID. */
export async function resolveRecipients(
  directory: Directory,
  mail: MailPolicy,
  to: NoticeRecipient,
): Promise<ChosenRecipients> {
  if ('manager' in to && to.manager) {
    const account = await directory.findByEmployeeId(to.manager);
    return chooseRecipients(mail, to, account ? { mail: account.mail, enabled: account.enabled } : null);
  }
  return chooseRecipients(mail, to);
}

/**
 * displayName, username and email of the person the notice is about (vars.employeeId), from the
 * directory, for templates that declare them and requests that do not give them.
 */
async function subjectPersonVars(
  directory: Directory,
  catalogue: NoticeCatalogue,
  req: Pick<NoticeRequest, 'template' | 'vars'>,
): Promise<Record<string, string>> {
  const declared = catalogue.templates[req.template]?.vars ?? [];
  const wanted = ['displayName', 'username', 'email'].filter((v) => declared.includes(v) && !(v in req.vars));
  const employeeId = req.vars.employeeId;
  if (wanted.length === 0 || typeof employeeId !== 'string') return {};
  const account = await directory.findByEmployeeId(employeeId);
  if (!account) return { displayName: employeeId };
  const name = account.displayName ?? [account.givenName, account.sn].filter(Boolean).join(' ');
  return {
    displayName: name || employeeId,
    username: account.sAMAccountName,
    email: account.mail ?? account.userPrincipalName,
  };
}

function parseRequest(input: unknown): NoticeRequest {
  const result = noticeRequestSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || '(request)';
  throw ApplicationFailure.create({
    type: ErrorType.InvalidRecord,
    message: `notice ${field}: ${issue.message}`,
    nonRetryable: true,
    details: [{ field }],
  });
}

function mailPolicy(policy: Policy): MailPolicy {
  if (!policy.mail) {
    throw ApplicationFailure.create({
      type: NoticeErrorType.NotConfigured,
      message: 'the policy has no mail block: no notice can be sent',
      nonRetryable: true,
      details: [{ field: 'mail' }],
    });
  }
  return policy.mail;
}

/** A NoticeError as a non-retryable failure naming its field; anything else unchanged. */
function noticeFailure(err: unknown): unknown {
  if (!(err instanceof NoticeError)) return err;
  return ApplicationFailure.create({
    type: err.type,
    message: err.message,
    nonRetryable: true,
    ...(err.field ? { details: [{ field: err.field }] } : {}),
  });
}

/** The same owner for every attempt of one activity: its retry may take its own claim over. */
function claimOwner(): string {
  try {
    const { workflowExecution: wf, activityId } = Context.current().info;
    return wf ? `${wf.workflowId}/${wf.runId}/${activityId}` : `direct/${randomUUID()}`;
  } catch {
    return `direct/${randomUUID()}`;
  }
}

function lazy<T>(v: T | (() => T)): () => T {
  if (typeof v !== 'function') return () => v;
  let opened: T | undefined;
  return () => (opened ??= (v as () => T)());
}
