import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runsCommand } from '../../src/cli/runs';
import { type RunRow } from '../../src/ops/runs';
import { deliverRecord, personState } from '../../src/ops/persons';
import { parseEnv } from '../../src/config';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import type { PersonState } from '../../src/workflows/messages';
import { eventually, startStack, type Stack } from '../support/stack';

// `tunnus runs` against the Temporal dev server's visibility (SQLite), with the search attributes
// the sandbox registers.

const runId = Date.now().toString(36).toUpperCase();
let seq = 0;
const nextId = (prefix: string) => `${prefix}${runId}-${++seq}`;

interface RunsOutput {
  query: string;
  runs: RunRow[];
  more: boolean;
}

describe('tunnus runs against Temporal visibility', () => {
  let stack: Stack;
  let id: string;
  before(async () => {
    stack = await startStack();
    await stack.startWorker();
    id = nextId('R');
    await deliverRecord(
      stack.client,
      {
        employeeId: id,
        firstNames: 'Ville',
        lastName: `Ajot${runId}`,
        jobTitle: 'Toimistosihteeri',
        jobCode: 'TS01',
        orgUnit: 'HALL-2',
        employmentType: 'permanent',
        startDate: helsinkiDate(new Date()),
      },
      'hr',
      stack.taskQueue,
    );
    await eventually(
      () => personState(stack.client, id),
      (s): s is PersonState => s?.stage === 'active' && s.runs.every((r) => r.endedAt),
      90_000,
      `person ${id} active`,
    );
  });
  after(async () => {
    await stack.close();
  });

  async function runs(argv: string[], now?: Date): Promise<{ code: number; text: string }> {
    const chunks: string[] = [];
    const out = { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WritableStream;
    const code = await runsCommand(argv, out, parseEnv(stack.childEnv()), now);
    return { code, text: chunks.join('') };
  }
  async function runsJson(argv: string[], now?: Date): Promise<RunsOutput> {
    const { code, text } = await runs([...argv, '--json'], now);
    assert.equal(code, 0, text);
    return JSON.parse(text) as RunsOutput;
  }
  /** Visibility is eventually consistent: poll until the completed joiner is listed. */
  const joinerListed = () =>
    eventually(
      () => runsJson(['--stage', 'joiner', '--employee', id, '--since', '1h']),
      (r) => r.runs.some((run) => run.status === 'completed'),
      30_000,
      'completed joiner in visibility',
    );

  it('--stage joiner --employee finds the completed joiner with its EmployeeId', async () => {
    const result = await joinerListed();
    assert.match(
      result.query,
      /^WorkflowType = 'joinerWorkflow' AND EmployeeId = '[^']+' AND StartTime >= '\S+Z'$/,
    );
    assert.equal(result.runs.length, 1);
    const [run] = result.runs;
    assert.equal(run!.workflowId, `joiner-${id}-1`);
    assert.equal(run!.type, 'joinerWorkflow');
    assert.equal(run!.status, 'completed');
    assert.equal(run!.employeeId, id);
    assert.equal(run!.lifecycleStage, 'joiner');
    assert.ok(run!.closeTime && run!.closeTime >= run!.startTime);
  });

  it('without --stage, every run of the person is listed: the entity workflow and its joiner', async () => {
    await joinerListed();
    const result = await runsJson(['--employee', id]);
    assert.deepEqual(result.runs.map((r) => [r.workflowId, r.type, r.status]).sort(), [
      [`joiner-${id}-1`, 'joinerWorkflow', 'completed'],
      [`person-${id}`, 'personWorkflow', 'running'],
    ]);
    assert.equal(result.runs.find((r) => r.type === 'personWorkflow')?.lifecycleStage, 'active');
    const limited = await runsJson(['--employee', id, '--limit', '1']);
    assert.equal(limited.runs.length, 1);
    assert.equal(limited.more, true, 'says that more runs match');
  });

  it('--stage leaver and mover find nothing for a person who only joined', async () => {
    await joinerListed();
    const leaver = await runsJson(['--stage', 'leaver', '--employee', id]);
    assert.match(leaver.query, /WorkflowType = 'leaverWorkflow'/);
    assert.deepEqual(leaver.runs, []);
    assert.deepEqual((await runsJson(['--stage', 'mover', '--employee', id])).runs, []);
  });

  it('--stage leaver finds a leaver run once HR enters a past end date', async () => {
    const leaverId = nextId('RL');
    const today = helsinkiDate(new Date());
    const record = {
      employeeId: leaverId,
      firstNames: 'Ville',
      lastName: `Lahtija${runId}`,
      jobTitle: 'Toimistosihteeri',
      jobCode: 'TS01',
      orgUnit: 'HALL-2',
      employmentType: 'permanent' as const,
      startDate: addDays(today, -10),
    };
    await deliverRecord(stack.client, record, 'hr', stack.taskQueue);
    await eventually(
      () => personState(stack.client, leaverId),
      (s) => s?.stage === 'active' && s.runs.every((r) => r.endedAt),
      90_000,
      `person ${leaverId} active`,
    );
    await deliverRecord(stack.client, { ...record, endDate: addDays(today, -1) }, 'hr', stack.taskQueue);
    const result = await eventually(
      () => runsJson(['--stage', 'leaver', '--employee', leaverId, '--since', '1h']),
      (r) => r.runs.some((run) => run.status === 'completed'),
      90_000,
      'completed leaver in visibility',
    );
    assert.deepEqual(
      result.runs.map((r) => [r.workflowId, r.type, r.status, r.employeeId, r.lifecycleStage]),
      [[`leaver-${leaverId}-2`, 'leaverWorkflow', 'completed', leaverId, 'leaver']],
    );
  });

  it('--since leaves out runs that started before the window', async () => {
    await joinerListed();
    // "Now" two hours ahead: the joiner started more than an hour before it.
    const later = new Date(Date.now() + 2 * 3_600_000);
    assert.deepEqual((await runsJson(['--employee', id, '--since', '1h'], later)).runs, []);
    assert.equal((await runsJson(['--employee', id, '--since', '3h'], later)).runs.length, 2);
  });

  it('the table shows id, type, status, times and EmployeeId', async () => {
    await joinerListed();
    const { code, text } = await runs(['--stage', 'joiner', '--employee', id]);
    assert.equal(code, 0);
    const [header, row, count] = text.trimEnd().split('\n');
    assert.match(header!, /^workflow id\s+type\s+status\s+started \(UTC\)\s+closed \(UTC\)\s+EmployeeId$/);
    assert.match(
      row!,
      new RegExp(
        `^joiner-${id}-1\\s+joinerWorkflow\\s+completed\\s+\\d{4}-\\d{2}-\\d{2} [\\d:]{8}\\s+\\d{4}-\\d{2}-\\d{2} [\\d:]{8}\\s+${id}$`,
      ),
    );
    assert.equal(count, '1 run(s)');
  });

  it('a bad option is a usage error naming it, and nothing is queried', async () => {
    const stage = await runs(['--stage', 'retiree']);
    assert.equal(stage.code, 2);
    assert.match(
      stage.text,
      /--stage must be one of joiner, mover, rehire, leaver, delete, cleanup, import, person/,
    );
    const since = await runs(['--since', 'last week']);
    assert.equal(since.code, 2);
    assert.match(since.text, /--since: "last week" is not a duration/);
    const employee = await runs(['--employee', "x' OR WorkflowType != '"]);
    assert.equal(employee.code, 2);
    assert.match(employee.text, /--employee must be an employee id/);
  });
});
