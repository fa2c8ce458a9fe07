// SKUs as a municipality's tenant subscribes to them. skuId, skuPartNumber, servicePlanId and
// servicePlanName follow Microsoft's "Product names and service plan identifiers for licensing"
// reference, so policy files written against the simulator name the same part numbers as in
// production. Only the plans the tests care about are listed per SKU (the real SKUs carry more).

export interface ServicePlan {
  servicePlanId: string;
  servicePlanName: string;
}

export interface SkuDefinition {
  skuId: string;
  skuPartNumber: string;
  servicePlans: ServicePlan[];
}

/** Seats bought for a SKU: `prepaidUnits.enabled`. */
export interface SkuSeats {
  skuPartNumber: string;
  enabled: number;
}

const plan = (servicePlanName: string, servicePlanId: string): ServicePlan => ({
  servicePlanId,
  servicePlanName,
});

export const plans = {
  EXCHANGE_S_ENTERPRISE: plan('EXCHANGE_S_ENTERPRISE', 'efb87545-963c-4e0d-99df-69c6916d9eb0'),
  EXCHANGE_S_STANDARD: plan('EXCHANGE_S_STANDARD', '9aaf7827-d63c-4b61-89c3-182f06f82e5c'),
  EXCHANGE_S_DESKLESS: plan('EXCHANGE_S_DESKLESS', '4a82b400-a79f-41a4-b4e2-e94f5787b113'),
  SHAREPOINTENTERPRISE: plan('SHAREPOINTENTERPRISE', '5dbe027f-2339-4123-9542-606e4d348a72'),
  SHAREPOINTENTERPRISE_EDU: plan('SHAREPOINTENTERPRISE_EDU', '63038b2c-28d0-45f6-bc36-33062963b498'),
  SHAREPOINTSTANDARD_EDU: plan('SHAREPOINTSTANDARD_EDU', '0a4983bb-d3e5-4a09-95d8-b2d0127b3df5'),
  SHAREPOINTDESKLESS: plan('SHAREPOINTDESKLESS', '902b47e5-dcb2-4fdc-858b-c63a90a2bdb9'),
  OFFICESUBSCRIPTION: plan('OFFICESUBSCRIPTION', '43de0ff5-c92c-492b-9116-175376d08c38'),
  OFFICEMOBILE_SUBSCRIPTION: plan('OFFICEMOBILE_SUBSCRIPTION', 'c63d4d19-e8cb-460e-b37c-4d6c34603745'),
  TEAMS1: plan('TEAMS1', '57ff2da0-773e-42df-b2af-ffb7a2317929'),
  MCOSTANDARD: plan('MCOSTANDARD', '0feaeb32-d00e-4d66-bd5a-43b5b83db82c'),
  AAD_PREMIUM: plan('AAD_PREMIUM', '41781fb2-bc02-4b7c-bd55-b576c07bb09d'),
  INTUNE_A: plan('INTUNE_A', 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5'),
  BI_AZURE_P0: plan('BI_AZURE_P0', '2049e525-b859-401b-b2a0-e0a31c4b1fe4'),
};

/** Service plans that give the user an Exchange Online mailbox. */
export const exchangePlanNames = new Set([
  'EXCHANGE_S_ENTERPRISE',
  'EXCHANGE_S_STANDARD',
  'EXCHANGE_S_DESKLESS',
]);

export const skuCatalogue: SkuDefinition[] = [
  {
    // Microsoft 365 E3
    skuId: '05e9a617-0261-4cee-bb44-138d3ef5d965',
    skuPartNumber: 'SPE_E3',
    servicePlans: [
      plans.EXCHANGE_S_ENTERPRISE,
      plans.SHAREPOINTENTERPRISE,
      plans.OFFICESUBSCRIPTION,
      plans.TEAMS1,
      plans.MCOSTANDARD,
      plans.AAD_PREMIUM,
      plans.INTUNE_A,
    ],
  },
  {
    // Microsoft 365 F3 (frontline)
    skuId: '66b55226-6b4f-492c-910c-a3b7a3c9d993',
    skuPartNumber: 'SPE_F1',
    servicePlans: [
      plans.EXCHANGE_S_DESKLESS,
      plans.SHAREPOINTDESKLESS,
      plans.OFFICEMOBILE_SUBSCRIPTION,
      plans.TEAMS1,
      plans.AAD_PREMIUM,
    ],
  },
  {
    // Microsoft 365 A3 for faculty
    skuId: '4b590615-0888-425a-a965-b3bf7789848d',
    skuPartNumber: 'M365EDU_A3_FACULTY',
    servicePlans: [
      plans.EXCHANGE_S_ENTERPRISE,
      plans.SHAREPOINTENTERPRISE_EDU,
      plans.OFFICESUBSCRIPTION,
      plans.TEAMS1,
      plans.AAD_PREMIUM,
      plans.INTUNE_A,
    ],
  },
  {
    // Microsoft 365 A3 for students
    skuId: '7cfd9a2b-e110-4c39-bf20-c6a3f36a3121',
    skuPartNumber: 'M365EDU_A3_STUDENT',
    servicePlans: [
      plans.EXCHANGE_S_ENTERPRISE,
      plans.SHAREPOINTENTERPRISE_EDU,
      plans.OFFICESUBSCRIPTION,
      plans.TEAMS1,
      plans.AAD_PREMIUM,
    ],
  },
  {
    // Office 365 A1 for students
    skuId: '314c4481-f395-4525-be8b-2ec4bb1e9d91',
    skuPartNumber: 'STANDARDWOFFPACK_STUDENT',
    servicePlans: [plans.EXCHANGE_S_STANDARD, plans.SHAREPOINTSTANDARD_EDU, plans.TEAMS1],
  },
  {
    // Power BI (free): a licence with no mailbox in it.
    skuId: 'a403ebcc-fae0-4ca2-8c8c-7a907fd6c235',
    skuPartNumber: 'POWER_BI_STANDARD',
    servicePlans: [plans.BI_AZURE_P0],
  },
];

/** The seats a fresh simulator starts with (the sample policy's SKUs). */
export const defaultSeats: SkuSeats[] = [
  { skuPartNumber: 'SPE_E3', enabled: 50 },
  { skuPartNumber: 'SPE_F1', enabled: 50 },
  { skuPartNumber: 'M365EDU_A3_FACULTY', enabled: 50 },
  { skuPartNumber: 'STANDARDWOFFPACK_STUDENT', enabled: 500 },
];

/** Resolves seats to full SKU definitions; a definition passed whole is taken as is. */
export function resolveSkus(skus: (SkuSeats | (SkuDefinition & { enabled: number }))[]): (SkuDefinition & {
  enabled: number;
})[] {
  return skus.map((s) => {
    if ('skuId' in s) return { ...s, servicePlans: [...s.servicePlans] };
    const def = skuCatalogue.find((d) => d.skuPartNumber === s.skuPartNumber);
    if (!def) throw new Error(`graph-sim: unknown skuPartNumber ${s.skuPartNumber}; pass a full definition`);
    return { ...def, servicePlans: [...def.servicePlans], enabled: s.enabled };
  });
}
