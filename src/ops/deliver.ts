import type { Client } from '@temporalio/client';
import { loadPolicy, type Env } from '../config';
import type { SourceRecord } from '../domain/identity';
import type { Policy } from '../domain/policy';
import type { RecordStore } from '../store/import-staging';
import { openRecordIndex } from '../store/open';
import type { Source } from '../workflows/messages';
import { inBatches } from '../in-batches';
import { createRecordDelivery, type DeliveryOutcome } from './intake';
import { createTemporalIntake } from './temporal-intake';

// The intake use-case for the CLI (`tunnus hire`, `tunnus plan apply` of a record or snapshot
// plan): the same guarded delivery as `PUT /api/v1/persons`, over the configured record store and
// policy. The operator is the OS user (src/ops/approve.ts cliOperator).

export interface GuardedDeliveryOptions {
  client: Client;
  env: Pick<Env, 'TEMPORAL_TASK_QUEUE' | 'TUNNUS_POLICY_FILE' | 'RECORD_INDEX_URL' | 'TUNNUS_INDEX_FILE'>;
  /** Who delivers: `cli:{OS user}`, `plan-apply:cli:{OS user}`. */
  origin: string;
  /** Defaults: the configured policy file and record store (opened and closed here). */
  policy?: Policy;
  store?: RecordStore;
  concurrency?: number;
}

/** Delivers each record through the mass-change guard; the outcomes in the same order. */
export async function deliverGuarded(
  options: GuardedDeliveryOptions,
  records: readonly { record: SourceRecord; source: Source }[],
): Promise<DeliveryOutcome[]> {
  const { client, env } = options;
  const store = options.store ?? openRecordIndex(env);
  try {
    const delivery = createRecordDelivery({
      port: createTemporalIntake({ client, taskQueue: env.TEMPORAL_TASK_QUEUE, timeoutMs: 30_000 }),
      index: store,
      policy: options.policy ?? loadPolicy(env.TUNNUS_POLICY_FILE),
    });
    const outcomes: DeliveryOutcome[] = [];
    const indexed = records.map((r, i) => ({ ...r, i }));
    await inBatches(indexed, options.concurrency ?? 16, async ({ record, source, i }) => {
      outcomes[i] = await delivery.deliver(record, source, options.origin);
    });
    return outcomes;
  } finally {
    if (!options.store) await store.close();
  }
}

/** "3 records delivered, 1 unchanged, 2 held for approval (tunnus approve mass-change-hold)" */
export function describeOutcomes(outcomes: readonly DeliveryOutcome[]): string {
  const n = (s: DeliveryOutcome['status']) => outcomes.filter((o) => o.status === s).length;
  const [unchanged, held] = [n('unchanged'), n('held')];
  return (
    `${n('accepted')} records delivered` +
    (unchanged > 0 ? `, ${unchanged} unchanged` : '') +
    (held > 0 ? `, ${held} held for approval (tunnus approve mass-change-hold)` : '')
  );
}
