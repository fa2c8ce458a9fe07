import type { Client } from '@temporalio/client';
import type { SkuPool } from '../activities/cloud';
import { createSeatCounter } from '../domain/licence-seats';
import type { Policy } from '../domain/policy';
import type { IdentityReadModel } from '../store/read-model';
import { TASK_QUEUE } from '../workflows/messages';
import { licencePoolWorkflow } from '../workflows/licences';

// `tunnus licences`: what the tenant says of each managed SKU (one short workflow: the worker holds
// the Graph credentials) beside what the identity read model says Tunnus holds and who waits —
// no per-person workflow query, so it reads the same at 50 people or 50,000.

export interface LicenceRow {
  sku: string;
  /** The tenant's enabled seats, consumed seats and what is left (Graph subscribedSkus). */
  seats: number;
  used: number;
  free: number;
  /** Seats held by managed identities, from the read model's entitlements. */
  assigned: number;
  /** Identities with a run under way whose grant names the SKU and who hold none yet. */
  waiting: number;
}

const PAGE = 1000;

/** The tenant's seats per managed SKU, read by the worker. */
export async function licencePool(client: Client, taskQueue = TASK_QUEUE): Promise<SkuPool[]> {
  return client.workflow.execute(licencePoolWorkflow, {
    workflowId: `licence-pool-${Date.now()}`,
    taskQueue,
    staticSummary: 'read the licence pool for tunnus licences',
  });
}

/** Seats per SKU: the tenant's figures, and the read model's held and waiting counts. */
export async function licenceReport(options: {
  client: Client;
  identities: Pick<IdentityReadModel, 'page'>;
  policy: Policy;
  taskQueue?: string;
}): Promise<LicenceRow[]> {
  const [pool, counts] = await Promise.all([
    licencePool(options.client, options.taskQueue),
    seatCounts(options.identities, options.policy),
  ]);
  const rows: LicenceRow[] = pool.map((p) => ({
    ...p,
    ...(counts.get(p.sku) ?? { assigned: 0, waiting: 0 }),
  }));
  // A SKU the rows hold that the tenant no longer lists as managed: shown, with no seats.
  for (const [sku, c] of counts) {
    if (!pool.some((p) => p.sku === sku)) rows.push({ sku, seats: 0, used: 0, free: 0, ...c });
  }
  return rows;
}

/** Held and waiting seats per SKU over every row of the read model, a page at a time. */
export async function seatCounts(identities: Pick<IdentityReadModel, 'page'>, policy: Policy) {
  const counter = createSeatCounter(policy);
  for (let after: string | undefined; ;) {
    const page = await identities.page({ limit: PAGE, ...(after ? { after } : {}) });
    counter.add(page);
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.identityId;
  }
  return counter.counts();
}
