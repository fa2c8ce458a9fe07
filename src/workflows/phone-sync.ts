import {
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { CloudActivities } from '../activities/cloud';
import type { RunActivities } from '../activities/runs';
import type { RejectedPhoneChange } from '../domain/phone';
import { cloudActivityOptions, directoryActivityOptions, pagedActivityOptions } from './options';

// The periodic telephony sync (started by the Temporal Schedule "phone-sync"): numbers changed in
// the telephony platform flow to AD and the cloud user. It reads the change feed from where the
// last completed run stopped, one page per activity: the cursor after each page is in history (a
// checkpoint), a change a target refuses is skipped and reported instead of failing the run, and
// after PAGES_PER_RUN pages the run continues as new with the cursor, so a first sync or a bulk
// renumbering of tens of thousands of changes keeps a bounded history.

const cloud = proxyActivities<CloudActivities>(cloudActivityOptions);
const runs = proxyActivities<RunActivities>(directoryActivityOptions);
// A page heartbeats once per person: a dead worker is noticed in seconds, a long page may run.
const pages = proxyActivities<CloudActivities>(pagedActivityOptions);

/** Pages per run before continue-as-new: ~6 history events a page, far below the limits. */
export const PAGES_PER_RUN = 25;
/** Rejected changes listed in the result (all are counted; the log has every one). */
export const MAX_REJECTED_LISTED = 100;

export interface PhoneSyncResult {
  cursor?: string;
  /** Changes read from the feed, people synced, people whose numbers were written. */
  changes: number;
  people: number;
  changed: number;
  pages: number;
  /** Runs of this sync (1 + continue-as-new count). */
  runs: number;
  /** Changes skipped because a target refused them: counted, and listed up to a limit. */
  rejectedCount: number;
  rejected: RejectedPhoneChange[];
}

export interface PhoneSyncInput {
  cursor?: string;
  /** Set by continue-as-new: the totals so far (and that `cursor` is this sync's own). */
  carried?: PhoneSyncResult;
  /** Overrides PAGES_PER_RUN (tests). */
  pagesPerRun?: number;
  /** Changes per page (default: the activity's). */
  pageSize?: number;
}

export async function phoneSyncWorkflow(input: PhoneSyncInput = {}): Promise<PhoneSyncResult> {
  // Runs started before paging replay their recorded commands (one activity per person).
  if (!patched('phone-sync-paged')) return unpagedPhoneSync(input);
  const carried = input.carried;
  let cursor =
    carried || input.cursor !== undefined
      ? input.cursor
      : await runs.lastPhoneSyncCursor.executeWithOptions({ summary: 'where the last sync stopped' }, []);
  const result: PhoneSyncResult = carried
    ? { ...carried, runs: carried.runs + 1, rejected: [...carried.rejected] }
    : { changes: 0, people: 0, changed: 0, pages: 0, runs: 1, rejectedCount: 0, rejected: [] };
  const pagesPerRun = input.pagesPerRun ?? PAGES_PER_RUN;
  for (let pagesThisRun = 0; ;) {
    const page = await pages.syncPhonePage.executeWithOptions(
      { summary: 'sync one page of number changes' },
      [
        {
          ...(cursor !== undefined ? { cursor } : {}),
          ...(input.pageSize !== undefined ? { limit: input.pageSize } : {}),
        },
      ],
    );
    cursor = page.next;
    pagesThisRun++;
    result.pages++;
    result.changes += page.changes;
    result.people += page.people;
    result.changed += page.changed;
    result.rejectedCount += page.rejected.length;
    for (const r of page.rejected) {
      if (result.rejected.length < MAX_REJECTED_LISTED) result.rejected.push(r);
    }
    setCurrentDetails(`phone sync: ${result.changes} changes read, ${result.rejectedCount} rejected`);
    if (!page.hasMore) break;
    if (pagesThisRun >= pagesPerRun || workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof phoneSyncWorkflow>({
        cursor,
        carried: { ...result, cursor },
        ...(input.pagesPerRun !== undefined ? { pagesPerRun: input.pagesPerRun } : {}),
        ...(input.pageSize !== undefined ? { pageSize: input.pageSize } : {}),
      });
    }
  }
  if (result.rejectedCount > 0) {
    // Structured, business keys only: ops fix the numbers on the platform; the next change retries.
    log.warn('phone sync skipped changes that a target refused', {
      alert: 'PhoneChangesRejected',
      rejected: result.rejectedCount,
      employeeIds: result.rejected.map((r) => r.employeeId),
    });
  }
  return { ...result, ...(cursor !== undefined ? { cursor } : {}) };
}

/** The sync as it was before paging, kept only so that runs in flight at a deploy can replay. */
async function unpagedPhoneSync(input: PhoneSyncInput): Promise<PhoneSyncResult> {
  let cursor =
    input.cursor ??
    (await runs.lastPhoneSyncCursor.executeWithOptions({ summary: 'where the last sync stopped' }, []));
  const result: PhoneSyncResult = {
    changes: 0,
    people: 0,
    changed: 0,
    pages: 0,
    runs: 1,
    rejectedCount: 0,
    rejected: [],
  };
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
    result.pages++;
    cursor = page.next;
    if (!page.hasMore) break;
  }
  return { ...result, ...(cursor !== undefined ? { cursor } : {}) };
}
