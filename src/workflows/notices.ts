import { log, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { NoticeRequest } from '../domain/notice-events';

// The workflows' side of the notice channel (contract A: `sendNotice` in src/activities/notify.ts,
// sent once per key by its ledger). Workflows build requests with src/domain/notice-events.ts and
// hand them over here; a notice never fails the run that sends it (an alert is logged instead).

export interface SendNoticeResult {
  status: 'sent' | 'already-sent';
  to: string[];
}

interface NoticeActivities {
  sendNotice(req: NoticeRequest): Promise<SendNoticeResult>;
}

/**
 * Retried until the mail goes out (Graph throttling, an outage): the ledger makes every retry
 * safe. Bounded to a day so a notice that cannot be delivered (no ops mailbox configured) ends
 * as an alert instead of retrying forever.
 */
const noticeOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
};

const { sendNotice: send } = proxyActivities<NoticeActivities>(noticeOptions);

/** Sends one notice; resolves true when sent (now or before), false when it could not be. */
export async function sendNotice(req: NoticeRequest): Promise<boolean> {
  try {
    await send.executeWithOptions({ summary: `notice ${req.template} (${req.key})` }, [req]);
    return true;
  } catch (err) {
    log.error('alert: notice not sent', {
      key: req.key,
      template: req.template,
      type: err instanceof Error ? err.name : 'Unknown',
    });
    return false;
  }
}
