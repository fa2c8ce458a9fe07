// The workflows the worker registers.
export { personWorkflow } from './person';
export { joinerWorkflow } from './joiner';
export { moverWorkflow } from './mover';
