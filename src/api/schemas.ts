import { z } from 'zod';
import { personWorkflowId, type PersonState } from '../workflows/messages';
import type { IdentityRow } from '../domain/identity-row';
import type { IndexEntry } from '../store/record-index';

// Response shapes, as zod schemas: they document the API (OpenAPI) and the serializer keeps only
// the fields named here, so nothing else in the workflow state (names, the record) leaks out.

export const fieldErrorSchema = z.object({ field: z.string(), message: z.string() });

export const errorSchema = z.object({
  error: z.string().describe('machine-readable code, e.g. invalid_record, unauthorized, id_mismatch'),
  message: z.string().optional(),
  fields: z.array(fieldErrorSchema).optional().describe('each bad field with what is wrong with it'),
});
export type ErrorBody = z.infer<typeof errorSchema>;

export const acceptedSchema = z.object({
  workflowId: z
    .string()
    .describe('the person entity workflow, person-{employeeId}; mass-change-hold when held'),
  status: z
    .enum(['accepted', 'unchanged', 'held'])
    .describe(
      'unchanged: the record equals the last accepted one and nothing new was started; held: it takes ' +
        'access away beyond the mass-change threshold and waits for approval',
    ),
  reason: z.string().optional().describe('why the record is held'),
});

const sourceSchema = z.enum(['hr', 'education']);

export const personViewSchema = z.object({
  employeeId: z.string(),
  workflowId: z.string(),
  stage: z.enum([
    'received',
    'joining',
    'active',
    'updating',
    'leaving',
    'left',
    'deleting',
    'deleted',
    'failed',
    'held',
  ]),
  status: z.string().optional().describe('what the running joiner/mover is doing right now'),
  source: sourceSchema.optional(),
  recordVersion: z.number().int().describe('incremented per accepted record'),
  recordsReceived: z.number().int(),
  duplicatesIgnored: z.number().int(),
  account: z.object({ sAMAccountName: z.string(), userPrincipalName: z.string() }).optional(),
  pending: z
    .array(z.object({ event: z.enum(['provision', 'start', 'end', 'delete']), at: z.string() }))
    .describe('dated events still ahead (durable timers in the workflow)'),
  runs: z.array(
    z.object({
      workflowId: z.string(),
      kind: z.enum(['joiner', 'mover', 'rehire', 'leaver', 'delete']),
      startedAt: z.string(),
      endedAt: z.string().optional(),
      outcome: z.enum(['completed', 'failed']).optional(),
      ranIn: z
        .string()
        .optional()
        .describe('set when the run finished inside this person workflow: its steps are in that history'),
      applied: z
        .array(z.string())
        .optional()
        .describe('what a run inside the person applied (step descriptions)'),
      handover: z.string().optional().describe("a run inside the person: its first-day handover's status"),
    }),
  ),
  lastError: z.object({ type: z.string(), message: z.string(), at: z.string() }).optional(),
  cloud: z
    .object({ exported: z.boolean(), reason: z.string() })
    .optional()
    .describe(
      "whether the policy exports the person to the cloud, and which roles decide it (last run's plan)",
    ),
  lastAccepted: z
    .object({ at: z.string(), source: sourceSchema })
    .nullable()
    .describe('when intake last handed a changed record to the workflow (record index)'),
});
export type PersonView = z.infer<typeof personViewSchema>;

/** What the person view reads: the person workflow's state, or its identity read model row. */
export type PersonViewSource = Pick<
  PersonState,
  'employeeId' | 'stage' | 'status' | 'source' | 'version' | 'recordsReceived' | 'duplicatesIgnored'
> &
  Partial<Pick<PersonState, 'schedule' | 'lastError' | 'cloud'>> & {
    account?: Pick<NonNullable<PersonState['account']>, 'sAMAccountName' | 'userPrincipalName'>;
    runs: PersonState['runs'];
  };

/** A read model row as the view's source (src/domain/identity-row.ts). */
export const viewSourceOfRow = (row: IdentityRow): PersonViewSource => ({
  employeeId: row.identityId,
  stage: row.stage,
  ...(row.source ? { source: row.source } : {}),
  version: row.recordVersion,
  recordsReceived: row.recordsReceived,
  duplicatesIgnored: row.duplicatesIgnored,
  ...(row.account ? { account: row.account } : {}),
  ...(row.schedule ? { schedule: row.schedule } : {}),
  ...(row.lastError ? { lastError: row.lastError } : {}),
  ...(row.cloud ? { cloud: row.cloud } : {}),
  runs: row.runs,
});

/** The workflow state as ops see it: ids, progress and dates; no names, no record. */
export function personView(state: PersonViewSource, entry: IndexEntry | undefined, now: Date): PersonView {
  const pending: PersonView['pending'] = [];
  const { schedule } = state;
  if (schedule) {
    const dated = [
      ['provision', schedule.provisionAt],
      ['start', schedule.startAt],
      ['end', schedule.endAt],
      ['delete', schedule.deleteAt],
    ] as const;
    for (const [event, at] of dated) if (at && Date.parse(at) > now.getTime()) pending.push({ event, at });
  }
  return {
    employeeId: state.employeeId,
    workflowId: personWorkflowId(state.employeeId),
    stage: state.stage,
    ...(state.status !== undefined ? { status: state.status } : {}),
    ...(state.source ? { source: state.source } : {}),
    recordVersion: state.version,
    recordsReceived: state.recordsReceived,
    duplicatesIgnored: state.duplicatesIgnored,
    ...(state.account
      ? {
          account: {
            sAMAccountName: state.account.sAMAccountName,
            userPrincipalName: state.account.userPrincipalName,
          },
        }
      : {}),
    pending,
    runs: state.runs,
    ...(state.lastError ? { lastError: state.lastError } : {}),
    ...(state.cloud ? { cloud: state.cloud } : {}),
    lastAccepted: entry ? { at: entry.updatedAt, source: entry.source } : null,
  };
}
