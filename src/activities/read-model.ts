import type { IdentityRow } from '../domain/identity-row';
import { completeRow } from '../domain/managed-identity';
import type { Policy } from '../domain/policy';
import { guardStore } from '../store/errors';
import type { RecordStore } from '../store/import-staging';

// The person workflow's one write to the identity read model (contract C): its row after a state
// change. Idempotent: the same row again rewrites the same content, and a row older than the one
// stored (a retried activity overtaken by a newer write, a rebuild that read the state earlier) is
// ignored by the store. The entitlements the last run left are filled in here, where the policy is.

export interface ReadModelActivityDeps {
  store: () => RecordStore;
  policy: Policy;
}

export const createReadModelActivities = ({ store, policy }: ReadModelActivityDeps) => ({
  async recordIdentity(row: IdentityRow): Promise<'written' | 'stale'> {
    return guardStore(async () => {
      const model = store().identities;
      const previous = await model.get(row.identityId);
      return model.write(completeRow(row, policy, previous));
    });
  },
});

export type ReadModelActivities = ReturnType<typeof createReadModelActivities>;
