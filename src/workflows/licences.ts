import { proxyActivities } from '@temporalio/workflow';
import type { CloudActivities, SkuPool } from '../activities/cloud';
import { cloudActivityOptions } from './options';

const cloud = proxyActivities<CloudActivities>(cloudActivityOptions);

/** Seats of every managed SKU, read by the worker (which holds the Graph credentials). */
export async function licencePoolWorkflow(): Promise<SkuPool[]> {
  return cloud.licencePool.executeWithOptions({ summary: 'seats, used and free per managed SKU' }, []);
}
