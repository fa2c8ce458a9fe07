// Stage names ops use (`tunnus runs --stage joiner`) → the workflow type that runs that stage.
// Data only, so that the command definitions can name the stages without loading Temporal.
export const stageWorkflowTypes = {
  joiner: 'joinerWorkflow',
  mover: 'moverWorkflow',
  rehire: 'rehireWorkflow',
  leaver: 'leaverWorkflow',
  delete: 'deleteWorkflow',
  cleanup: 'cleanupWorkflow',
  import: 'importWorkflow',
  person: 'personWorkflow',
} as const;

export type Stage = keyof typeof stageWorkflowTypes;

export const stages = Object.keys(stageWorkflowTypes) as Stage[];
