// The runs Tunnus counts, by workflow type. Loaded into the workflow bundle (by the metrics
// interceptor) as well as by the worker, so: no imports.

export const RUN_KINDS = {
  joinerWorkflow: 'joiner',
  moverWorkflow: 'mover',
  leaverWorkflow: 'leaver',
  rehireWorkflow: 'rehire',
  deleteWorkflow: 'delete',
  cleanupWorkflow: 'cleanup',
  importWorkflow: 'import',
} as const;

export type RunKindLabel = (typeof RUN_KINDS)[keyof typeof RUN_KINDS];

export const runKindLabels = Object.values(RUN_KINDS) as RunKindLabel[];

export function runKindOf(workflowType: string): RunKindLabel | undefined {
  return (RUN_KINDS as Record<string, RunKindLabel>)[workflowType];
}

/** The person's lifecycle runs (children of the person workflow), which report a provisioning status. */
export const LIFECYCLE_WORKFLOW_TYPES = [
  'joinerWorkflow',
  'moverWorkflow',
  'rehireWorkflow',
  'leaverWorkflow',
  'deleteWorkflow',
];

/** The runs the mass-change guard can stop for approval. */
export const GUARDED_WORKFLOW_TYPES = ['importWorkflow', 'cleanupWorkflow'];
