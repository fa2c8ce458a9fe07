import {
  ContinueAsNew,
  isCancellation,
  proxySinks,
  TemporalFailure,
  workflowInfo,
  type Next,
  type Sinks,
  type UpdateInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { runKindOf, type RunKindLabel } from './run-kinds';

// Counts runs as they start and end, from inside the workflow bundle (registered by the worker as
// a workflow interceptor module; workflow code stays unchanged). The counts leave the sandbox
// through a sink, which the SDK does not call during replay, so a run is counted once however
// often its history is replayed. The worker side is src/metrics/registry.ts.

export type RunOutcome = 'completed' | 'failed' | 'cancelled';

export interface RunMetricsSinks extends Sinks {
  runMetrics: {
    started(kind: RunKindLabel): void;
    finished(kind: RunKindLabel, outcome: RunOutcome): void;
    /** An operator approved a run the mass-change guard stopped. */
    approved(kind: RunKindLabel): void;
  };
}

const { runMetrics } = proxySinks<RunMetricsSinks>();

class RunMetricsInbound implements WorkflowInboundCallsInterceptor {
  constructor(private readonly kind: RunKindLabel) {}

  async execute(
    input: WorkflowExecuteInput,
    next: Next<WorkflowInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    // A run continued as new is the same run carrying on: counted when it first started.
    if (!workflowInfo().continuedFromExecutionRunId) runMetrics.started(this.kind);
    try {
      const result = await next(input);
      runMetrics.finished(this.kind, 'completed');
      return result;
    } catch (err) {
      if (err instanceof ContinueAsNew) throw err;
      if (isCancellation(err)) runMetrics.finished(this.kind, 'cancelled');
      // Anything else fails the workflow *task*, which Temporal retries: not an outcome yet.
      else if (err instanceof TemporalFailure) runMetrics.finished(this.kind, 'failed');
      throw err;
    }
  }

  async handleUpdate(
    input: UpdateInput,
    next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>,
  ): Promise<unknown> {
    const result = await next(input);
    if (input.name === 'approve') runMetrics.approved(this.kind);
    return result;
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  const kind = runKindOf(workflowInfo().workflowType);
  return kind ? { inbound: [new RunMetricsInbound(kind)] } : {};
};
