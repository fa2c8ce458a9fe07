import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Policy } from './domain/policy';
import { TASK_QUEUE } from './workflows/messages';

// Schedules the worker creates or updates idempotently when it starts.

export const PHONE_SYNC_SCHEDULE = 'phone-sync';

export async function ensurePhoneSyncSchedule(
  client: Client,
  policy: Policy,
  taskQueue = TASK_QUEUE,
): Promise<void> {
  const spec = { intervals: [{ every: policy.telephony.syncEveryMinutes * 60_000 }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'phoneSyncWorkflow',
    workflowId: 'phone-sync',
    taskQueue,
    args: [{}],
    staticSummary: 'telephony numbers → AD and cloud',
  };
  try {
    await client.schedule.create({
      scheduleId: PHONE_SYNC_SCHEDULE,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      state: { paused: !policy.telephony.enabled },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(PHONE_SYNC_SCHEDULE).update((previous) => ({
      ...previous,
      spec,
      action,
      state: { ...previous.state, paused: !policy.telephony.enabled },
    }));
  }
}
