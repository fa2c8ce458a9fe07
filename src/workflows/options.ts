import type { ActivityOptions } from '@temporalio/workflow';
import { nonRetryableErrorTypes } from '../domain/error-types';

// Timeouts and retry policies. A joiner must eventually complete, so transient failures retry
// without limit (the run stays visible as "retrying" in the UI); the listed types need a person.

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

export const MAX_TIMELINE = 50;
export const MAX_RUNS = 20;
/** Continue-as-new well before the history limits, even if the server does not suggest it. */
export const MAX_HISTORY_EVENTS = 2000;

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
