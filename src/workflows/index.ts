// The workflows the worker registers.
export { personWorkflow } from './person';
export { joinerWorkflow } from './joiner';
export { moverWorkflow } from './mover';
export { phoneSyncWorkflow } from './phone-sync';
export { licencePoolWorkflow } from './licences';
export { leaverWorkflow, deleteWorkflow, rehireWorkflow } from './lifecycle';
export { importWorkflow } from './import';
export { cleanupWorkflow } from './cleanup';
export { massChangeHoldWorkflow } from './mass-change-hold';
export { shredWorkflow } from './shred';
