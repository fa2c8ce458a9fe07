import { log } from '@temporalio/workflow';
import type { SendNoticeResult } from '../activities/notify';
import type { NoticeRequest } from '../domain/notice-events';
import { notifyActivityOptions, notifyLocalActivityOptions } from './options';
import { HandOff, stepRunner } from './steps';

// The workflows' side of the notice channel (contract A: `sendNotice` in src/activities/notify.ts,
// sent once per key by its ledger). Workflows build requests with src/domain/notice-events.ts and
// hand them over here; a notice never fails the run that sends it (an alert is logged instead).
// notifyActivityOptions retry for up to a day (the ledger makes every retry safe).

interface NoticeActivities {
  sendNotice(req: NoticeRequest): Promise<SendNoticeResult>;
}

const remote = stepRunner<NoticeActivities>(false, notifyActivityOptions, notifyLocalActivityOptions);
const local = stepRunner<NoticeActivities>(true, notifyActivityOptions, notifyLocalActivityOptions);
const localOrHandOff = stepRunner<NoticeActivities>(
  true,
  notifyActivityOptions,
  notifyLocalActivityOptions,
  true,
);

/**
 * Sends one notice; resolves true when sent (now or before), false when it could not be.
 * `local`: tried as a local activity first (a run's first day, from `joiner-local-steps` on).
 * `handOff`: a run's pass in the person, whose child sends it when the local attempts fail.
 */
export async function sendNotice(
  req: NoticeRequest,
  opts: { local?: boolean; handOff?: boolean } = {},
): Promise<boolean> {
  const send = opts.handOff ? localOrHandOff : opts.local ? local : remote;
  try {
    await send('sendNotice', `notice ${req.template} (${req.key})`, [req]);
    return true;
  } catch (err) {
    if (err instanceof HandOff) throw err;
    log.error('alert: notice not sent', {
      key: req.key,
      template: req.template,
      type: err instanceof Error ? err.name : 'Unknown',
    });
    return false;
  }
}
