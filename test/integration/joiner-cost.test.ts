import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { deliverRecord, personState } from '../../src/ops/persons';
import { helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import type { PersonState } from '../../src/workflows/messages';
import { RELEASE_PATCH } from '../../src/workflows/release';
import { payloadJson } from '../support/history-payloads';
import { eventually, startStack, type Stack } from '../support/stack';

// What one joiner costs Temporal (issue 12): history events, workflow tasks, search-attribute
// upserts, activities and local-activity markers, person + joiner workflow together, for a joiner
// starting today with directory steps only (office role with cloud switched off) and for a full
// one (nurse: cloud user, licence, mailbox, phone). The figures are printed for the notes; the
// ceilings fail when a change brings back the round trips issue 12 took out.

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const runId = Date.now().toString(36).toUpperCase();
const today = () => helsinkiDate(new Date());

export interface JoinerCost {
  events: number;
  workflowTasks: number;
  upserts: number;
  activities: number;
  localActivities: number;
  /** Local-activity markers that carry a summary (user metadata) for the Web UI. */
  localActivitiesWithSummary: number;
  timers: number;
  /** Patch markers (each comes with a TemporalChangeVersion upsert, counted in `upserts`). */
  patchMarkers: number;
  /** The patch ids the runs' TemporalChangeVersion upserts named, in order. */
  changeVersions: string[];
}

export function costOf(histories: HistoryEvent[][]): JoinerCost {
  const cost: JoinerCost = {
    events: 0,
    workflowTasks: 0,
    upserts: 0,
    activities: 0,
    localActivities: 0,
    localActivitiesWithSummary: 0,
    timers: 0,
    patchMarkers: 0,
    changeVersions: [],
  };
  for (const e of histories.flat()) {
    cost.events++;
    if (e.workflowTaskCompletedEventAttributes) cost.workflowTasks++;
    if (e.upsertWorkflowSearchAttributesEventAttributes) cost.upserts++;
    if (e.activityTaskScheduledEventAttributes) cost.activities++;
    if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      cost.localActivities++;
      if (e.userMetadata?.summary) cost.localActivitiesWithSummary++;
    }
    if (e.timerStartedEventAttributes) cost.timers++;
    if (e.markerRecordedEventAttributes?.markerName === 'core_patch') cost.patchMarkers++;
    // Search attributes are not encoded by the codec: the SDK's keyword list is plain JSON.
    const versions =
      e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TemporalChangeVersion;
    if (versions)
      cost.changeVersions.push(...((payloadJson(versions) as string[] | undefined) ?? ['(unreadable)']));
  }
  return cost;
}

/**
 * Ceilings, and every local-activity marker carries its step's summary (what the Web UI shows).
 * `workflows`: 1 when the joiner ran inside its person (joiner-here), 2 with a child run.
 */
function within(
  cost: JoinerCost,
  most: Pick<JoinerCost, 'events' | 'workflowTasks' | 'activities'>,
  workflows: 1 | 2,
): void {
  const over = (Object.keys(most) as (keyof typeof most)[]).filter((k) => cost[k] > most[k]);
  assert.deepEqual(over, [], JSON.stringify(cost));
  assert.ok(cost.localActivities > 0, 'the short steps are local activities');
  assert.equal(cost.localActivitiesWithSummary, cost.localActivities, 'each marker has its summary');
  // One patch per workflow, the release marker (src/workflows/release.ts), not one per change.
  assert.equal(cost.patchMarkers, workflows, JSON.stringify(cost));
  assert.deepEqual(cost.changeVersions, Array<string>(workflows).fill(RELEASE_PATCH));
}

describe('the Temporal cost of one joiner (events, workflow tasks)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      policy: (policy) => {
        for (const role of policy.roles) {
          if (role.name !== 'office') continue;
          role.cloud = false;
          role.mailbox = false;
          role.licences = [];
        }
      },
    });
    await stack.startWorker();
  });
  after(async () => {
    await stack?.close();
  });

  /** The cost, and whether the joiner ran inside its person (no child workflow). */
  async function measure(record: HrRecord): Promise<JoinerCost & { inPerson: boolean }> {
    await deliverRecord(stack.client, record, 'hr', stack.taskQueue);
    const id = record.employeeId;
    const settled = await eventually(
      () => personState(stack.client, id),
      (s): s is PersonState => s?.stage === 'active' && s.runs.every((r) => r.endedAt),
      120_000,
      `person ${id} active`,
    );
    // The person settles (notices, its read-model row) a moment after its run ended.
    let last = -1;
    for (;;) {
      const person = (await stack.client.workflow.getHandle(`person-${id}`).fetchHistory()).events ?? [];
      if (person.length === last) {
        const joiner =
          (
            await stack.client.workflow
              .getHandle(`joiner-${id}-1`)
              .fetchHistory()
              .catch((err: unknown) => {
                if (err instanceof Error && /not found/i.test(err.message)) return undefined;
                throw err;
              })
          )?.events ?? [];
        if (process.env.TUNNUS_JOINER_COST_EVENTS) {
          for (const [name, events] of [
            ['person', person],
            ['joiner', joiner],
          ] as const) {
            const types = events.map((e) =>
              String(temporal.api.enums.v1.EventType[e.eventType ?? 0]).replace('EVENT_TYPE_', ''),
            );
            process.stdout.write(`${name}: ${types.join(' ')}\n`);
          }
        }
        const inPerson = settled?.runs[0]?.ranIn === `person-${id}`;
        assert.equal(inPerson, joiner.length === 0, 'a run is in its person exactly when it has no child');
        return { ...costOf([person, joiner]), inPerson };
      }
      last = person.length;
      await new Promise((r) => setTimeout(r, 1500));
    }
  }

  it('a directory-only joiner starting today', async () => {
    const cost = await measure({
      employeeId: `COSTA${runId}`,
      firstNames: 'Kalle',
      lastName: `Kustannus${runId}`,
      jobTitle: 'Toimistosihteeri',
      jobCode: 'HS01',
      orgUnit: 'HALL-010',
      employmentType: 'permanent',
      startDate: today(),
    });
    process.stdout.write(`joiner cost, directory only: ${JSON.stringify(cost)}\n`);
    // Measured 85 events / 13 workflow tasks before issue 12; 44 / 4 after (person 3, joiner 1);
    // 34 / 4 with one release marker per run instead of six patches (4 upserts instead of 9);
    // 17 / 1 with the run inside the person (joiner-here: no child, 3 upserts).
    assert.ok(cost.inPerson, 'a directory-only joiner starting today runs inside its person');
    within(cost, { events: 20, workflowTasks: 2, activities: 0 }, 1);
  });

  it('a full joiner starting today (cloud user, licence, mailbox, phone)', async () => {
    const cost = await measure({
      employeeId: `COSTF${runId}`,
      firstNames: 'Aino',
      lastName: `Kustannus${runId}`,
      jobTitle: 'Sairaanhoitaja',
      jobCode: 'SH01',
      orgUnit: 'SOTE-110',
      employmentType: 'permanent',
      startDate: today(),
    });
    process.stdout.write(`joiner cost, full: ${JSON.stringify(cost)}\n`);
    // Measured 109 / 17 before; 63 / 7 after (the three Graph steps that wait stay activities);
    // 53 / 7 with the release marker; 54 / 7 with joiner-here (the person plans, finds the cloud
    // in the plan and starts the child, which plans again: one more local activity).
    assert.ok(!cost.inPerson, 'a joiner with cloud steps goes on in a child');
    within(cost, { events: 60, workflowTasks: 8, activities: 3 }, 2);
  });
});
