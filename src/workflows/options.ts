import type { ActivityOptions } from '@temporalio/workflow';
import { nonRetryableErrorTypes } from '../domain/error-types';

// Timeouts and retry policies. A joiner must eventually complete, so transient failures retry
// without limit (the run stays visible as "retrying" in the UI); the listed types need a person.
// Not listed on purpose: CredentialsRejected (waits with its own long nextRetryDelay until ops fix
// the password) and the bounded types (AccountMissing, Unclassified, CloudPurgeUnverified), which
// the activity raises as non-retryable itself after BOUNDED_ATTEMPTS (src/domain/error-types.ts).

export const directoryActivityOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    // Capped low enough that runs resume soon after AD returns, high enough not to hammer it.
    maximumInterval: '15 seconds',
    nonRetryableErrorTypes,
  },
};

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

export const cloudActivityOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    // A server's Retry-After overrides this per attempt (the activity sets nextRetryDelay).
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes,
  },
};

/**
 * sendNotice (contract A): retried until the mail goes out (Graph throttled or down; a 429's
 * Retry-After sets the next delay), which the notice ledger makes safe; bounded to a day so an
 * undeliverable notice ends as a failure the caller logs as an alert. Template and configuration
 * faults are non-retryable at once.
 */
export const notifyActivityOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 day',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes,
  },
};

/**
 * The first-day credential handover: transient failures retry (each retry after the credential
 * was set issues a fresh one and voids the earlier, so retries are safe but not free: slower).
 */
export const handoverActivityOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes,
  },
};
