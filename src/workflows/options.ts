import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { ErrorType, nonRetryableErrorTypes } from '../domain/error-types';

/**
 * The local attempts of a step stop at once on rejected credentials as well: that wait (its own
 * long nextRetryDelay, until ops fix the password) belongs to the regular activity, where the run
 * shows as pending with the failure type (src/workflows/steps.ts hands it over; it is not final).
 */
const localNonRetryable: string[] = [...nonRetryableErrorTypes, ErrorType.CredentialsRejected];

// Timeouts and retry policies. A joiner must eventually complete, so transient failures retry
// without limit (the run stays visible as "retrying" in the UI); the listed types need a person.
// Not listed on purpose: CredentialsRejected (waits with its own long nextRetryDelay until ops fix
// the password) and the bounded types (AccountMissing, Unclassified, CloudPurgeUnverified), which
// the activity raises as non-retryable itself after BOUNDED_ATTEMPTS (src/domain/error-types.ts).

// Timeouts are sized to the step, so a step that a dead worker held is noticed and started again
// on another worker within seconds (issue 12: it used to be a minute). A timeout is always
// retryable and every step is an idempotent ensure, so a step cut short by a slow directory only
// costs a retry. Long steps heartbeat (phone sync pages, imports, cleanup batches), and their
// heartbeatTimeout, not their long startToClose, is what notices a dead worker.

/**
 * One directory step as a regular activity: a few LDAP operations, each with the connector's own
 * 10 s timeout. Used for the directory steps of runs started before `joiner-local-steps`, and as
 * the visible fallback when the local attempts of a step fail (an outage: the run then shows as
 * a pending activity retrying in the UI until AD returns).
 */
export const directoryActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    // Capped low enough that runs resume soon after AD returns, high enough not to hammer it.
    maximumInterval: '15 seconds',
    nonRetryableErrorTypes,
  },
};

/**
 * One directory step as a local activity (`joiner-local-steps`): run in the workflow task of the
 * run itself, so plan → create → groups → enable cost one workflow task and one marker event per
 * step instead of a task and three events each; each marker carries the step's summary. A few
 * quick attempts only: a step that still fails is handed to the regular activity above
 * (src/workflows/steps.ts), which retries without limit where ops see it. Backoffs above
 * localRetryThreshold (a CredentialsRejected nextRetryDelay) become a durable timer.
 */
export const directoryLocalActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  localRetryThreshold: '5 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '2 seconds',
    maximumAttempts: 3,
    nonRetryableErrorTypes: localNonRetryable,
  },
};

/**
 * The workflow task timeout of a run (joiner, mover, leaver …) started with local steps: a local
 * activity held by a worker that died is run again on another worker once the task times out,
 * so this bounds the resume time (the SDK heartbeats the task while local activities run longer).
 */
export const RUN_WORKFLOW_TASK_TIMEOUT = '5 seconds';

/** The same for a person (started by the intake): a joiner's pass runs in its task (`joiner-here`). */
export const PERSON_WORKFLOW_TASK_TIMEOUT = RUN_WORKFLOW_TASK_TIMEOUT;

export { MAX_RUNS, MAX_TIMELINE } from '../domain/person-state';
/**
 * Continue-as-new well before Temporal's history limits (50k events / 50 MB), even if the server
 * does not suggest it: the person entity when idle past this many events or loop passes…
 */
export const MAX_HISTORY_EVENTS = 2000;
export const MAX_PERSON_PASSES = 200;
/** …and a run (joiner/mover/leaver) that re-checks a business condition, with its progress. */
export const MAX_RUN_HISTORY_EVENTS = 1000;
export const MAX_RUN_RECHECKS = 100;
/** The longest single timer: a wait for a date further ahead re-plans on waking (a year). */
export const MAX_TIMER_MS = 365 * 24 * 60 * 60 * 1000;

/** One Graph step (a few requests; Graph answers in well under a second, Retry-After aside). */
export const cloudActivityOptions: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    // A server's Retry-After overrides this per attempt (the activity sets nextRetryDelay).
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes,
  },
};

/**
 * The short AD-and-platform writes after the cloud steps (mail addresses, the phone catalogue
 * entry and numbers) as local activities, with the same handover to cloudActivityOptions as the
 * directory steps; a Retry-After longer than localRetryThreshold becomes a durable timer.
 */
export const cloudLocalActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '15 seconds',
  localRetryThreshold: '5 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '2 seconds',
    maximumAttempts: 3,
    nonRetryableErrorTypes: localNonRetryable,
  },
};

/**
 * Deleting and purging a cloud user waits (bounded) for the recycle bin to show the item, and
 * records its progress as heartbeat details at each milestone: minutes at most, once per person
 * at the end of retention, so it keeps a long timeout rather than a heartbeat deadline.
 */
export const cloudPurgeActivityOptions: ActivityOptions = {
  ...cloudActivityOptions,
  startToCloseTimeout: '3 minutes',
};

/**
 * A page of the telephony change feed: up to PHONE_PAGE_SIZE people, one heartbeat per person, so
 * a dead worker is noticed by the heartbeat timeout while a long page may still take minutes.
 */
export const pagedActivityOptions: ActivityOptions = {
  ...cloudActivityOptions,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '15 seconds',
};

/**
 * sendNotice (contract A): retried until the mail goes out (Graph throttled or down; a 429's
 * Retry-After sets the next delay), which the notice ledger makes safe; bounded to a day so an
 * undeliverable notice ends as a failure the caller logs as an alert. Template and configuration
 * faults are non-retryable at once.
 */
export const notifyActivityOptions: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  scheduleToCloseTimeout: '1 day',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes,
  },
};

/** sendNotice from a run's first day, tried locally first (then notifyActivityOptions). */
export const notifyLocalActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '15 seconds',
  localRetryThreshold: '5 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumAttempts: 2,
    nonRetryableErrorTypes: localNonRetryable,
  },
};

/**
 * The first-day credential handover: transient failures retry (each retry after the credential
 * was set issues a fresh one and voids the earlier, so retries are safe but not free: slower).
 */
export const handoverActivityOptions: ActivityOptions = {
  // An AD password set (or a Temporary Access Pass) and one mail: a few requests.
  startToCloseTimeout: '20 seconds',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes,
  },
};

/** The handover tried locally first (then handoverActivityOptions, with their slower retries). */
export const handoverLocalActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '20 seconds',
  localRetryThreshold: '5 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumAttempts: 2,
    nonRetryableErrorTypes: localNonRetryable,
  },
};
