import fs from 'node:fs';
import path from 'node:path';

// Records the histories the replay test (test/replay/replay.test.ts) replays: every workflow type in
// every phase that can be in flight across an upgrade, each fetched while the workflow is in that
// phase, from real runs on the Temporal CLI dev server with a Samba AD DC, the Graph and telephony
// simulators and the real worker (test/support/stack.ts). Synthetic people only.
//
//   npx tsx scripts/record-histories.ts            (npm run replay:record)
//
// Its own state, DC address and Temporal port (so it runs beside the sandbox and the tests; not beside
// scripts/upgrade-proof.ts, which uses the same); both are fresh on every run and stopped at the
// end. Override with the variables below. About a minute or two. Adding a phase: a block below that
// brings a workflow into it, then save(stack, name, workflowId, phase). docs/versioning.md says
// when to re-record (rule 6): never to make a failing replay pass.

const repoRoot = path.resolve(__dirname, '..');
process.env.TUNNUS_STATE_DIR ??= path.join(repoRoot, '.state', 'replay');
process.env.TUNNUS_DC_HOST ??= '127.0.0.28';
process.env.TUNNUS_TEST_TEMPORAL_PORT ??= '17309';
const stateDir = process.env.TUNNUS_STATE_DIR;
// The worker's import and cleanup activities open the record index this names.
process.env.TUNNUS_INDEX_FILE = path.join(stateDir, 'record-index.sqlite');
delete process.env.RECORD_INDEX_URL;

const DAY = 24 * 60 * 60 * 1000;

async function main(): Promise<void> {
  // Imported after the environment above is set: these modules read it when loaded.
  const { encodeHistory, historiesDir, manifestFile } = await import('../test/replay/histories');
  const { decodeHistory } = await import('../test/support/history-payloads');
  const { createPayloadCodec } = await import('../src/crypto/codec');
  const { eventually, startStack } = await import('../test/support/stack');
  const { ensureSamba, stopSamba } = await import('../sandbox/samba');
  const { stopTemporalDevServers } = await import('../sandbox/temporal');
  const { deliverRecord, personState } = await import('../src/ops/persons');
  const { addDays, helsinkiDate } = await import('../src/domain/dates');
  const { generatePassword } = await import('../src/activities/directory');
  const { prepareHrImport } = await import('../src/api/imports');
  const { openSqliteIndex } = await import('../src/store/sqlite-index');
  const { importWorkflow, importProgressQuery } = await import('../src/workflows/import');
  const { phoneSyncWorkflow } = await import('../src/workflows/phone-sync');
  const { pendingApprovalQuery } = await import('../src/workflows/approval');
  const { startCleanup } = await import('../src/ops/cleanup');
  const { holdChange } = await import('../src/ops/hold');
  const { HOLD_WORKFLOW_ID } = await import('../src/workflows/mass-change-hold');
  const messages = await import('../src/workflows/messages');
  type HrRecord = import('../src/domain/record').HrRecord;
  type EducationRecord = import('../src/domain/education').EducationRecord;
  type PersonState = import('../src/workflows/messages').PersonState;
  type Stack = import('../test/support/stack').Stack;

  // A fresh Temporal database and DC: the recorded ids and names do not depend on earlier runs.
  await stopTemporalDevServers();
  await stopSamba().catch(() => undefined);
  fs.rmSync(path.join(stateDir, 'temporal'), { recursive: true, force: true });
  fs.rmSync(path.join(stateDir, 'samba'), { recursive: true, force: true });
  for (const f of ['', '-wal', '-shm']) fs.rmSync(`${process.env.TUNNUS_INDEX_FILE}${f}`, { force: true });
  await ensureSamba();

  const today = helsinkiDate(new Date());
  const past = addDays(today, -200);
  const longAgo = addDays(today, -400);
  const t0 = Date.now();
  const recorded: import('../test/replay/histories').Manifest = {};
  // Written beside the committed ones and swapped in only when every scenario was recorded.
  const outDir = `${historiesDir}.new`;
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });

  // Rechecks of business conditions (seats, mailbox, directory sync) once an hour: a waiting run's
  // history stays the size it had when it started waiting.
  const slowRechecks = (p: import('../src/domain/policy').Policy) => {
    p.cloud.licenceRecheckSeconds = 3600;
    p.cloud.provisioningRecheckSeconds = 3600;
  };
  const stacks: Stack[] = [];
  const open = async (options: Parameters<typeof startStack>[0]) => {
    const stack = await startStack(options);
    stacks.push(stack);
    await stack.startWorker();
    return stack;
  };

  const nurse = (employeeId: string, lastName: string, extra: Partial<HrRecord> = {}): HrRecord => ({
    employeeId,
    firstNames: 'Testi',
    lastName,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: today,
    ...extra,
  });

  async function save(stack: Stack, name: string, workflowId: string, phase: string): Promise<void> {
    const handle = stack.client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') {
      throw new Error(`${name}: ${workflowId} is ${description.status.name}, not in flight`);
    }
    // Saved decoded: recorded histories are plaintext (synthetic people), so replay needs no keys.
    const history = await decodeHistory(await handle.fetchHistory(), createPayloadCodec(stack.keys));
    const json = encodeHistory(history);
    refuseSecrets(name, json);
    fs.writeFileSync(path.join(outDir, `${name}.json`), `${json}\n`);
    recorded[name] = {
      workflowId,
      workflowType: description.type,
      phase,
      events: history.events?.length ?? 0,
    };
    console.log(`  ${name}: ${description.type} ${workflowId}, ${recorded[name].events} events — ${phase}`);
  }

  const state = (stack: Stack, id: string) => personState(stack.client, id);
  const settled = (stack: Stack, id: string, stages: string[], what: string) =>
    eventually(
      () => state(stack, id),
      (s) => !!s && stages.includes(s.stage) && s.runs.every((r) => r.endedAt),
      120_000,
      what,
    ) as Promise<PersonState>;
  /** The person's running child, once its status detail matches. */
  const childWaiting = async (stack: Stack, id: string, kind: string, detail: RegExp) => {
    const s = await eventually(
      () => state(stack, id),
      (p) => !!p?.runs.some((r) => r.kind === kind && !r.endedAt),
      120_000,
      `${id} runs a ${kind}`,
    );
    const run = s!.runs.find((r) => r.kind === kind && !r.endedAt)!;
    await eventually(
      () =>
        stack.client.workflow
          .getHandle(run.workflowId)
          .query(messages.provisionStatusQuery)
          .catch(() => undefined),
      (st) => !!st && detail.test(st.detail),
      120_000,
      `${run.workflowId}: ${String(detail)}`,
    );
    return run.workflowId;
  };
  /** Until the workflow's pending activity of this type has been attempted (and failed) twice. */
  const activityRetrying = (stack: Stack, workflowId: string, activityType: string) =>
    eventually(
      async () => {
        // The person names its run just before the child starts: not found yet is "not yet".
        const d = await stack.client.workflow
          .getHandle(workflowId)
          .describe()
          .catch(() => undefined);
        return (d?.raw.pendingActivities ?? []).find((a) => a.activityType?.name === activityType);
      },
      (a) => (a?.attempt ?? 0) >= 2,
      120_000,
      `${workflowId}: ${activityType} retrying`,
    );

  // ---- Stack A: direct cloud mode, no faculty seats (teachers wait), the sample policy --------
  console.log('stack A: direct cloud mode');
  const a = await open({ policy: slowRechecks });
  a.sims.graph.admin.setSkus([
    { skuPartNumber: 'SPE_E3', enabled: 2000 },
    { skuPartNumber: 'SPE_F1', enabled: 2000 },
    { skuPartNumber: 'M365EDU_A3_FACULTY', enabled: 0 },
  ]);

  // Joiners: the account is created preHireDays (14) before the start date; until then the joiner
  // waits for that day. The person meanwhile runs the joiner as its child.
  await deliverRecord(
    a.client,
    nurse('RJ-LATER', 'Tuleva', { startDate: addDays(today, 60) }),
    'hr',
    a.taskQueue,
  );
  const provisionWait = await childWaiting(a, 'RJ-LATER', 'joiner', /^waiting to create account/);
  await save(
    a,
    'joiner-waiting-to-create-account',
    provisionWait,
    'joiner: start in 60 days, waits for the pre-hire day',
  );
  await save(
    a,
    'person-new-joiner-running',
    messages.personWorkflowId('RJ-LATER'),
    'person: first record, joiner running',
  );

  await deliverRecord(
    a.client,
    nurse('RJ-PREHIRE', 'Alkava', { startDate: addDays(today, 5) }),
    'hr',
    a.taskQueue,
  );
  const prehire = await childWaiting(a, 'RJ-PREHIRE', 'joiner', /^waiting for start date/);
  await save(
    a,
    'joiner-prehire-waiting-for-start-date',
    prehire,
    'joiner: account created disabled, waits for the start date',
  );

  await deliverRecord(
    a.client,
    nurse('RJ-SEAT', 'Odottava', { jobTitle: 'Opettaja', jobCode: 'OP01', orgUnit: 'KASV-200' }),
    'hr',
    a.taskQueue,
  );
  const seat = await childWaiting(a, 'RJ-SEAT', 'joiner', /^waiting for licence/);
  await save(a, 'joiner-waiting-for-licence-seat', seat, 'joiner: no free M365EDU_A3_FACULTY seat');

  a.sims.graph.admin.setMailboxDelay(7 * DAY);
  await deliverRecord(a.client, nurse('RJ-MAILBOX', 'Postilaatikko'), 'hr', a.taskQueue);
  const mailbox = await childWaiting(a, 'RJ-MAILBOX', 'joiner', /^waiting for the mailbox/);
  a.sims.graph.admin.setMailboxDelay(0);
  await save(
    a,
    'joiner-waiting-for-mailbox',
    mailbox,
    'joiner: licence assigned, mailbox not provisioned yet',
  );

  // Active persons, idle between records.
  await deliverRecord(a.client, nurse('RP-ACTIVE', 'Aktiivinen'), 'hr', a.taskQueue);
  await settled(a, 'RP-ACTIVE', ['active'], 'RP-ACTIVE active');
  await save(a, 'person-active', messages.personWorkflowId('RP-ACTIVE'), 'person: joiner done, idle');

  await deliverRecord(
    a.client,
    nurse('RP-ENDING', 'Lopettava', { endDate: addDays(today, 30) }),
    'hr',
    a.taskQueue,
  );
  await settled(a, 'RP-ENDING', ['active'], 'RP-ENDING active');
  await save(
    a,
    'person-pending-end-timer',
    messages.personWorkflowId('RP-ENDING'),
    'person: active, timer to the last working day',
  );

  // A leaver now (end date yesterday): then the person waits for the end of retention (90 days).
  await deliverRecord(a.client, nurse('RP-LEFT', 'Lahtenyt', { startDate: past }), 'hr', a.taskQueue);
  await settled(a, 'RP-LEFT', ['active'], 'RP-LEFT active');
  await deliverRecord(
    a.client,
    nurse('RP-LEFT', 'Lahtenyt', { startDate: past, endDate: addDays(today, -1) }),
    'hr',
    a.taskQueue,
  );
  await settled(a, 'RP-LEFT', ['left'], 'RP-LEFT left');
  await save(
    a,
    'person-pending-delete-timer',
    messages.personWorkflowId('RP-LEFT'),
    'person: left, timer to the end of retention',
  );
  // The same person back within retention, from a start date ahead: a rehire run waits for it.
  await deliverRecord(
    a.client,
    nurse('RP-LEFT', 'Lahtenyt', {
      startDate: addDays(today, 30),
      jobTitle: 'Osastonhoitaja',
      jobCode: 'SH02',
    }),
    'hr',
    a.taskQueue,
  );
  const rehire = await childWaiting(a, 'RP-LEFT', 'rehire', /^waiting/);
  await save(
    a,
    'rehire-waiting-for-start-date',
    rehire,
    'rehire: returning within retention, waits for the start',
  );

  // An end date far in the past on an active person: held for an operator's confirmation.
  await deliverRecord(a.client, nurse('RP-HELD', 'Pidetty', { startDate: longAgo }), 'hr', a.taskQueue);
  await settled(a, 'RP-HELD', ['active'], 'RP-HELD active');
  await deliverRecord(
    a.client,
    nurse('RP-HELD', 'Pidetty', { startDate: longAgo, endDate: addDays(today, -100) }),
    'hr',
    a.taskQueue,
  );
  await eventually(
    () => state(a, 'RP-HELD'),
    (s) => s?.stage === 'held',
    60_000,
    'RP-HELD held',
  );
  await save(
    a,
    'person-held-late-end-date',
    messages.personWorkflowId('RP-HELD'),
    'person: held, waits for confirmEndDate',
  );

  // The education source: a pupil (grade 3: AD only).
  const pupil: EducationRecord = {
    studentId: 'R0001',
    firstNames: 'Oppi',
    lastName: 'Koululainen',
    schoolCode: 'K01',
    class: '3A',
    startDate: today,
  };
  await deliverRecord(a.client, pupil, 'education', a.taskQueue);
  await settled(a, 'S-R0001', ['active'], 'pupil active');
  await save(
    a,
    'person-education-pupil',
    messages.personWorkflowId('S-R0001'),
    'person: education facet, active',
  );

  // A mover waiting for its effective date.
  await deliverRecord(a.client, nurse('RM-MOVER', 'Siirtyva'), 'hr', a.taskQueue);
  await settled(a, 'RM-MOVER', ['active'], 'RM-MOVER active');
  await deliverRecord(
    a.client,
    nurse('RM-MOVER', 'Siirtyva', {
      jobTitle: 'Osastonhoitaja',
      jobCode: 'SH02',
      effectiveDate: addDays(today, 20),
    }),
    'hr',
    a.taskQueue,
  );
  const mover = await childWaiting(a, 'RM-MOVER', 'mover', /^waiting for the change dated/);
  await save(
    a,
    'mover-waiting-for-effective-date',
    mover,
    'mover: changed role, waits for the effective date',
  );
  await save(a, 'person-mover-running', messages.personWorkflowId('RM-MOVER'), 'person: mover running');

  // Continue-as-new: duplicates of the same record grow the history (each is dropped) until the
  // person starts afresh with its state; the new run is recorded.
  const canRecord = nurse('RP-CAN', 'Jatkuva');
  await deliverRecord(a.client, canRecord, 'hr', a.taskQueue);
  await settled(a, 'RP-CAN', ['active'], 'RP-CAN active');
  const canHandle = a.client.workflow.getHandle(messages.personWorkflowId('RP-CAN'));
  const firstRun = (await canHandle.describe()).runId;
  // One at a time: each duplicate is a small workflow task of its own (a burst makes big ones).
  const historyLength = async () =>
    Number((await canHandle.describe()).raw.workflowExecutionInfo?.historyLength ?? 0);
  for (let sent = 0; (await canHandle.describe()).runId === firstRun && (await historyLength()) <= 2000;) {
    if (sent > 3000) throw new Error('RP-CAN did not continue as new');
    for (let i = 0; i < 10; i++)
      await canHandle.signal(messages.recordSignal, { record: canRecord, source: 'hr' });
    sent += 10;
  }
  await eventually(
    () => canHandle.describe(),
    (d) => d.status.name === 'RUNNING' && d.runId !== firstRun,
    60_000,
    'RP-CAN new run',
  );
  await settled(a, 'RP-CAN', ['active'], 'RP-CAN idle after continue-as-new');
  await save(
    a,
    'person-after-continue-as-new',
    messages.personWorkflowId('RP-CAN'),
    'person: new run with the carried state',
  );

  // Imports. The index must know people before a snapshot can end enough of them for the guard.
  const index = openSqliteIndex({ file: process.env.TUNNUS_INDEX_FILE! });
  const columns =
    'employee_id;first_names;last_name;job_title;job_code;org_unit;employment_type;start_date;end_date';
  // Hourly care staff: AD accounts only (no cloud), so twenty joiners finish quickly.
  const csv = (rows: { id: string; end?: string; start?: string }[]) =>
    [
      columns,
      ...rows.map(
        (r) =>
          `${r.id};Tuonti;Esimerkki;Sijainen;HH01;SOTE-110;hourly;${r.start ?? addDays(today, 90)};${r.end ?? ''}`,
      ),
    ].join('\r\n') + '\r\n';
  const startImport = async (text: string, batchSize?: number) => {
    const prepared = prepareHrImport(text, false);
    if (!prepared.ok) throw new Error(`import rows invalid: ${JSON.stringify(prepared.errors)}`);
    const stagingId = `${prepared.importId}/recording`;
    await index.stage(stagingId, prepared.rows);
    await a.client.workflow.start(importWorkflow, {
      workflowId: prepared.importId,
      taskQueue: a.taskQueue,
      args: [
        {
          importId: prepared.importId,
          stagingId,
          source: 'hr',
          total: prepared.rows.length,
          rejectedRows: 0,
          ...(batchSize ? { batchSize } : {}),
        },
      ],
      typedSearchAttributes: [{ key: messages.SourceKey, value: 'hr' }],
    });
    return a.client.workflow.getHandle<typeof importWorkflow>(prepared.importId);
  };
  const base = Array.from({ length: 20 }, (_, i) => ({
    id: `RI-${String(i).padStart(3, '0')}`,
    start: past,
  }));
  await (await startImport(csv(base))).result();

  // Mid-delivery: batches of two; recorded once a batch is delivered and more are to come.
  const many = Array.from({ length: 30 }, (_, i) => ({ id: `RD-${String(i).padStart(3, '0')}` }));
  const delivering = await startImport(csv(many), 2);
  await eventually(
    () => delivering.query(importProgressQuery).catch(() => undefined),
    (p) => !!p && p.processed >= 2 && p.processed <= 20,
    60_000,
    'import mid-delivery',
  );
  await save(a, 'import-mid-delivery', delivering.workflowId, 'import: delivering batch by batch');
  await delivering.result();

  // Awaiting approval: the snapshot ends 5 of the known people (over 5 % of the active identities).
  const ending = base.map((r, i) => (i < 5 ? { ...r, end: addDays(today, -1) } : r));
  const approval = await startImport(csv(ending));
  await eventually(
    () => approval.query(importProgressQuery).catch(() => undefined),
    (p) => p?.phase === 'awaiting approval',
    60_000,
    'import awaits approval',
  );
  await save(
    a,
    'import-awaiting-approval',
    approval.workflowId,
    'import: mass-change guard, waits for approve',
  );
  await approval.terminate('recorded');

  // A leaver whose cloud sign-in block keeps failing: the run retries it, in flight.
  await deliverRecord(a.client, nurse('RL-LEAVER', 'Poistuva', { startDate: past }), 'hr', a.taskQueue);
  await settled(a, 'RL-LEAVER', ['active'], 'RL-LEAVER active');
  a.sims.graph.admin.failNext(1_000_000, 503, { route: 'POST /users/{id}/revokeSignInSessions' });
  await deliverRecord(
    a.client,
    nurse('RL-LEAVER', 'Poistuva', { startDate: past, endDate: addDays(today, -1) }),
    'hr',
    a.taskQueue,
  );
  const leaverState = await eventually(
    () => state(a, 'RL-LEAVER'),
    (s) => !!s?.runs.some((r) => r.kind === 'leaver' && !r.endedAt),
    60_000,
    'RL-LEAVER leaving',
  );
  const leaver = leaverState!.runs.find((r) => r.kind === 'leaver' && !r.endedAt)!.workflowId;
  await activityRetrying(a, leaver, 'disableCloudSignIn');
  await save(a, 'leaver-in-flight', leaver, 'leaver: AD disabled, cloud sign-in block retrying');
  await save(a, 'person-leaver-running', messages.personWorkflowId('RL-LEAVER'), 'person: leaver running');

  // Phone sync, one change a page, slow pages: recorded between pages, and after continue-as-new.
  for (let i = 0; i < 12; i++) {
    await a.sims.phone.admin.assignNumbers(`RF-${String(i).padStart(3, '0')}`, [
      { type: 'work', e164: `+3589294900${String(i).padStart(2, '0')}`, primary: true },
    ]);
  }
  await a.sims.phone.admin.setLatency(400);
  const phoneRun = async (
    workflowId: string,
    input: Parameters<typeof phoneSyncWorkflow>[0],
    ok: (h: number) => boolean,
  ) => {
    const handle = await a.client.workflow.start(phoneSyncWorkflow, {
      workflowId,
      taskQueue: a.taskQueue,
      args: [input],
    });
    await eventually(
      async () => {
        const d = await handle.describe();
        if (d.status.name !== 'RUNNING') return -1;
        const h = await a.client.workflow.getHandle(workflowId).fetchHistory();
        return (
          (h.events ?? []).filter((e) => e.activityTaskCompletedEventAttributes).length +
          (d.runId === handle.firstExecutionRunId ? 0 : 100)
        );
      },
      (n) => n >= 0 && ok(n),
      60_000,
      `${workflowId} mid-feed`,
    );
    return handle;
  };
  const mid = await phoneRun('phone-sync-recording', { pageSize: 1 }, (n) => n >= 2 && n < 100);
  await save(a, 'phone-sync-mid-feed', mid.workflowId, 'phone sync: between pages of the change feed');
  await mid.terminate('recorded');
  const carried = await phoneRun(
    'phone-sync-recording-can',
    { pageSize: 1, pagesPerRun: 2 },
    (n) => n >= 101,
  );
  await save(
    a,
    'phone-sync-after-continue-as-new',
    carried.workflowId,
    'phone sync: a later run of the chain, mid-feed',
  );
  await carried.terminate('recorded');
  await a.sims.phone.admin.setLatency(0);

  // ---- Stack B: cloud users made by directory sync (which never comes here) ------------------
  console.log('stack B: synced cloud mode');
  const b = await open({
    policy: (p) => {
      slowRechecks(p);
      p.cloud.mode = 'synced';
    },
  });
  await deliverRecord(b.client, nurse('RS-SYNC', 'Synkattava'), 'hr', b.taskQueue);
  const sync = await childWaiting(b, 'RS-SYNC', 'joiner', /^waiting for directory sync/);
  await save(
    b,
    'joiner-waiting-for-directory-sync',
    sync,
    'joiner: AD account made, waits for directory sync',
  );

  // ---- Stack C: no retention (the delete follows the leaver), a low guard threshold ----------
  console.log('stack C: retention 0, guard threshold 1 %');
  const c = await open({
    policy: (p) => {
      slowRechecks(p);
      p.lifecycle.retentionDays = 0;
      p.safety.massChangeThresholdPercent = 1;
    },
  });
  await deliverRecord(c.client, nurse('RX-DELETE', 'Poistettava', { startDate: past }), 'hr', c.taskQueue);
  await settled(c, 'RX-DELETE', ['active'], 'RX-DELETE active');
  c.sims.graph.admin.failNext(1_000_000, 503, { route: 'DELETE /users/{id}' });
  await deliverRecord(
    c.client,
    nurse('RX-DELETE', 'Poistettava', { startDate: past, endDate: addDays(today, -1) }),
    'hr',
    c.taskQueue,
  );
  const deleting = await eventually(
    () => state(c, 'RX-DELETE'),
    (s) => !!s?.runs.some((r) => r.kind === 'delete' && !r.endedAt),
    120_000,
    'RX-DELETE deleting',
  );
  const del = deleting!.runs.find((r) => r.kind === 'delete' && !r.endedAt)!.workflowId;
  await activityRetrying(c, del, 'deleteCloudUser');
  await save(c, 'delete-in-flight', del, 'delete: AD account deleted, cloud user delete retrying');

  // Cleanup in enforce mode with orphans over the threshold: waits for an operator.
  const ou = `OU=Care,OU=Staff,OU=Tunnus,${c.samba.baseDn}`;
  for (let i = 0; i < 3; i++) {
    const orphan = await c.directory.createAccount({
      employeeId: `RO-${i}`,
      ou,
      cn: `orpo.esimerkki${i}`,
      sAMAccountName: `orpo.esimerkki${i}`,
      userPrincipalName: `orpo.esimerkki${i}@kerava.test`,
      attributes: {
        givenName: 'Orpo',
        sn: 'Esimerkki',
        displayName: 'Orpo Esimerkki',
        title: 'x',
        department: 'x',
      },
      password: generatePassword(),
    });
    await c.directory.setEnabled(orphan.dn, true);
  }
  const cleanupId = await startCleanup(c.client, c.taskQueue, 'enforce');
  await eventually(
    () =>
      c.client.workflow
        .getHandle(cleanupId)
        .query(pendingApprovalQuery)
        .catch(() => null),
    (p) => !!p,
    120_000,
    'cleanup awaits approval',
  );
  await save(
    c,
    'cleanup-awaiting-approval',
    cleanupId,
    'cleanup: enforce over the guard threshold, waits for approve',
  );

  // The held set: a single delivery the mass-change guard stopped waits there for approval.
  const held = nurse('RH-HELD', 'Pidatetty', { startDate: past, endDate: today });
  await holdChange(
    c.client,
    {
      identityId: 'RH-HELD',
      source: 'hr',
      record: held,
      loss: { identityId: 'RH-HELD', kind: 'disable', groups: ['ERP-Nurse', 'Care-Staff'], skus: ['SPE_E3'] },
      ref: 'api:recording',
      activeIdentities: 40,
      safety: c.policy.safety,
    },
    c.taskQueue,
  );
  await eventually(
    () =>
      c.client.workflow
        .getHandle(HOLD_WORKFLOW_ID)
        .query(pendingApprovalQuery)
        .catch(() => null),
    (p) => !!p,
    60_000,
    'held set awaits approval',
  );
  await save(
    c,
    'mass-change-hold-awaiting-approval',
    HOLD_WORKFLOW_ID,
    'held set: a delivery over the guard, waits for approve',
  );

  fs.writeFileSync(path.join(outDir, path.basename(manifestFile)), `${JSON.stringify(recorded, null, 2)}\n`);
  fs.rmSync(historiesDir, { recursive: true, force: true });
  fs.renameSync(outDir, historiesDir);
  console.log(
    `${Object.keys(recorded).length} histories in ${path.relative(repoRoot, historiesDir)} (${Math.round((Date.now() - t0) / 1000)} s)`,
  );

  await index.close();
  for (const stack of stacks) await stack.close();
  await stopTemporalDevServers();
  await stopSamba();
}

/** Passwords never reach history: refuse a recording that holds anything like one. */
function refuseSecrets(name: string, json: string): void {
  const texts = [json];
  // Payloads are base64: look inside them too.
  for (const m of json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g))
    texts.push(Buffer.from(m[1]!, 'base64').toString('utf8'));
  for (const text of texts) {
    // `initialPassword` names a credential kind and its policy rule (length, who receives it),
    // never a value: the values themselves are looked for in the test of the handover.
    // The field's name only: what surrounds it may be the secret.
    const m = /password|unicodePwd|Tunnus-Sandbox/i.exec(text.replace(/initialPassword/g, ''));
    if (m) throw new Error(`${name}: history holds a password field (${m[0]})`);
  }
}

/** A failed recording stops the dev server and the DC it started too. */
async function stopServices(): Promise<void> {
  const { stopSamba } = await import('../sandbox/samba');
  const { stopTemporalDevServers } = await import('../sandbox/temporal');
  await stopTemporalDevServers().catch(() => undefined);
  await stopSamba().catch(() => undefined);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    async (err: unknown) => {
      console.error(err);
      await stopServices();
      process.exit(1);
    },
  );
}
