import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import { nonRetryableErrorTypes } from '../domain/error-types';

// Short steps as local activities, with a visible fallback (issue 12, `joiner-local-steps`). A
// local activity runs inside the run's workflow task: no task queue round trip, one marker event
// (with the step's summary, shown in the Web UI) instead of three events and a workflow task. It
// gets a few quick attempts; a step that still fails for a reason retrying can fix (AD down,
// Graph throttled, a timeout) is handed to the same activity as a regular one, which retries
// without limit as a pending activity ops see in the UI, exactly as before. A failure that
// retrying cannot fix (a non-retryable type) is the step's answer either way.

/**
 * Thrown instead of the regular activity by a run's pass inside the person workflow (`joiner-here`,
 * src/domain/run-in-person.ts): the rest of the run goes on in a child, which retries visibly.
 * Every catch on the way to the pass's top rethrows it: it is not a failure of the step.
 */
export class HandOff extends Error {
  constructor(readonly why: string) {
    super(`the run goes on in a child: ${why}`);
    this.name = 'HandOff';
  }
}

/** Runs one step: locally first, then (unless the failure is final) as a regular activity. */
export interface StepRunner<A> {
  <K extends keyof A & string>(name: K, summary: string, args: ArgsOf<A[K]>): Promise<ResultOf<A[K]>>;
}

type ArgsOf<F> = F extends (...args: infer P) => unknown ? P : never;
type ResultOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;
type Callable = { executeWithOptions(options: object, args: unknown[]): Promise<unknown> };

/**
 * `local` false: every step is a regular activity (runs started before the patch replay their
 * recorded commands). Both proxies share one activity implementation registered on the worker.
 * `handOff`: a step whose local attempts fail throws HandOff instead of running as a regular one.
 */
export function stepRunner<A extends object>(
  local: boolean,
  remoteOptions: ActivityOptions,
  localOptions: LocalActivityOptions,
  handOff = false,
): StepRunner<A> {
  const remote = proxyActivities<Record<string, never>>(remoteOptions) as unknown as Record<string, Callable>;
  const quick = proxyLocalActivities<Record<string, never>>(localOptions) as unknown as Record<
    string,
    Callable
  >;
  return (async (name: string, summary: string, args: unknown[]) => {
    if (!local) return remote[name]!.executeWithOptions({ summary }, args);
    try {
      return await quick[name]!.executeWithOptions({ summary }, args);
    } catch (err) {
      if (isFinal(err)) throw err;
      if (handOff) throw new HandOff(`${name} failed its local attempts`);
      log.warn('step retries as a regular activity', { activityType: name, type: failureType(err) });
      return remote[name]!.executeWithOptions({ summary }, args);
    }
  }) as StepRunner<A>;
}

/** A failure no retry can fix, or a cancellation: not worth a regular activity. */
export function isFinal(err: unknown): boolean {
  if (isCancellation(err)) return true;
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure)) return false;
  return cause.nonRetryable || (nonRetryableErrorTypes as string[]).includes(cause.type ?? '');
}

function failureType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return cause.type ?? 'ApplicationFailure';
  return cause instanceof Error ? cause.name : 'Unknown';
}
