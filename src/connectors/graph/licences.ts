// The licence decision lives in src/domain/licences.ts (the run and the plan share it); kept
// here for the connector's callers.
export { planLicenceChange, type DesiredLicence, type LicenceChange } from '../../domain/licences';
