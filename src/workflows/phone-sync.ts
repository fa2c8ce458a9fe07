import { proxyActivities } from '@temporalio/workflow';
import type { CloudActivities } from '../activities/cloud';
import type { RunActivities } from '../activities/runs';
import { cloudActivityOptions, directoryActivityOptions } from './options';

// The periodic telephony sync (started by the Temporal Schedule "phone-sync"): numbers changed in
// the telephony platform flow to AD and the cloud user. It reads the change feed from where the
// last completed run stopped, so each change is applied once per run and nothing is missed.

const cloud = proxyActivities<CloudActivities>(cloudActivityOptions);
const runs = proxyActivities<RunActivities>(directoryActivityOptions);

export interface PhoneSyncResult {
  cursor?: string;
  people: number;
  changed: number;
}

export async function phoneSyncWorkflow(input: { cursor?: string } = {}): Promise<PhoneSyncResult> {
  let cursor =
    input.cursor ??
    (await runs.lastPhoneSyncCursor.executeWithOptions({ summary: 'where the last sync stopped' }, []));
  const result: PhoneSyncResult = { people: 0, changed: 0 };
  for (;;) {
    const page = await cloud.phoneChanges.executeWithOptions({ summary: 'next page of number changes' }, [
      { ...(cursor !== undefined ? { cursor } : {}) },
    ]);
    for (const employeeId of page.employeeIds) {
      const { changed } = await cloud.syncPhone.executeWithOptions({ summary: 'sync phone numbers' }, [
        { employeeId, catalogue: false, cloud: true },
      ]);
      result.people++;
      if (changed) result.changed++;
    }
    cursor = page.next;
    if (!page.hasMore) break;
  }
  return { ...result, ...(cursor !== undefined ? { cursor } : {}) };
}
