import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsAction,
  type ScheduleSpec,
} from '@temporalio/client';
import { HR_TIME_ZONE } from '../domain/dates';
import type { Policy } from '../domain/policy';
import { TASK_QUEUE } from '../workflows/messages';

// Schedules the worker creates or updates idempotently when it starts (and `tunnus cleanup run`
// triggers, src/ops/cleanup.ts).

export const PHONE_SYNC_SCHEDULE = 'phone-sync';
export const CLEANUP_SCHEDULE = 'leaver-cleanup';

export async function ensurePhoneSyncSchedule(
  client: Client,
  policy: Policy,
  taskQueue = TASK_QUEUE,
): Promise<void> {
  await ensureSchedule(
    client,
    PHONE_SYNC_SCHEDULE,
    { intervals: [{ every: policy.telephony.syncEveryMinutes * 60_000 }] },
    {
      type: 'startWorkflow',
      workflowType: 'phoneSyncWorkflow',
      workflowId: 'phone-sync',
      taskQueue,
      args: [{}],
      staticSummary: 'telephony numbers → AD and cloud',
    },
    !policy.telephony.enabled,
  );
}

/** Daily at the policy's time, Helsinki wall clock (the schedule follows daylight saving). */
export async function ensureCleanupSchedule(
  client: Client,
  policy: Policy,
  taskQueue = TASK_QUEUE,
): Promise<void> {
  const [hour, minute] = policy.cleanup.at.split(':').map(Number) as [number, number];
  await ensureSchedule(
    client,
    CLEANUP_SCHEDULE,
    { calendars: [{ hour: hour % 24, minute }], timezone: HR_TIME_ZONE },
    {
      type: 'startWorkflow',
      workflowType: 'cleanupWorkflow',
      workflowId: 'leaver-cleanup',
      taskQueue,
      args: [{}],
      staticSummary: 'daily leaver cleanup: past retention, licences on leavers, orphans, drift',
    },
    false,
  );
}

async function ensureSchedule(
  client: Client,
  scheduleId: string,
  spec: ScheduleSpec,
  action: ScheduleOptionsAction,
  paused: boolean,
): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      state: { paused },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule
      .getHandle(scheduleId)
      .update((previous) => ({ ...previous, spec, action, state: { ...previous.state, paused } }));
  }
}
