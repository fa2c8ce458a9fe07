export { defaultSharedMailboxes, startGraphSimulator } from './server';
export type {
  Counters,
  FailStatus,
  Faults,
  GraphSimAdmin,
  GraphSimulator,
  GraphSimulatorOptions,
  RequestRecord,
} from './server';
export { GraphFailure, GraphState, tenantId } from './state';
export type { AssignedLicense, SimUser, Sku } from './state';
export { defaultSeats, exchangePlanNames, plans, skuCatalogue } from './skus';
export type { ServicePlan, SkuDefinition, SkuSeats } from './skus';
export { MailStore } from './mail';
export type { DeliveredMessage } from './mail';
export { TapStore, defaultTapPolicy } from './tap';
export type { ExistingTapMode, TapPolicy, TapSignIn } from './tap';
