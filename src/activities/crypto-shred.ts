import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { IdentityKeys } from '../crypto/identity-keys';
import { runStatusOf } from '../ops/persons';
import type { RecordIndex } from '../store/record-index';
import type { IdentityReadModel } from '../store/read-model';

// Crypto-shredding at the end of retention (docs/codec-server.md, "Crypto-shredding"), run by the
// shred-{id} workflow once the person's workflow has closed. Inputs name the person as
// `subjectId`, never `employeeId`/`identityId`: the payload codec then encodes them with the
// shared key, so the shred workflow itself stays readable and replayable after the destroy.

export interface ShredDeps {
  client: Client;
  /** The record index and the identity read model (contract C) in the same store. */
  store: () => RecordIndex & { identities?: Pick<IdentityReadModel, 'remove'> };
  keys: () => IdentityKeys;
}

export type PersonRunStatus = 'completed' | 'running' | 'continued' | 'other';

export const createShredActivities = (deps: ShredDeps) => ({
  /**
   * How the person's run ended. Running: the activity fails (retryable), so Temporal's retry is
   * the wait — the person closes a moment after starting the shred. Gone from the server (its
   * retention passed) counts as completed: only a completed run starts a shred.
   */
  async personRunStatus(cmd: { workflowId: string; runId: string }): Promise<PersonRunStatus> {
    const status = await runStatusOf(deps.client, cmd.workflowId, cmd.runId);
    if (status === 'RUNNING') {
      throw ApplicationFailure.create({ type: 'PersonStillOpen', message: 'person run still open' });
    }
    if (status === 'COMPLETED' || status === 'NOT_FOUND') return 'completed';
    if (status === 'CONTINUED_AS_NEW') return 'continued';
    return 'other';
  },

  /** The person's index entry and read-model row removed; absent ones are no error (idempotent). */
  async forgetSubject(cmd: { subjectId: string }): Promise<{ forgotten: true }> {
    const store = deps.store();
    await store.remove(cmd.subjectId);
    await store.identities?.remove(cmd.subjectId);
    log.info('index entry and read model row removed', { subjectId: cmd.subjectId });
    return { forgotten: true };
  },

  /**
   * The person's data keys destroyed (irreversible), then a new key generation issued so that a
   * later rehire under the same employee id is a new identity with a new key; the old key ids
   * answer KeyDestroyed forever. Checks its own result.
   */
  async destroySubjectKey(cmd: { subjectId: string }): Promise<{ destroyed: true }> {
    const keys = deps.keys();
    await keys.destroy(cmd.subjectId);
    if (!(await keys.isDestroyed(cmd.subjectId))) {
      throw ApplicationFailure.create({
        type: 'KeyNotDestroyed',
        message: 'key store does not read as destroyed',
      });
    }
    // A new generation at once: a rehire under this employee id starts a new identity with it
    // (the destroyed key ids stay destroyed; a retry of this activity only issues another).
    await keys.reissue(cmd.subjectId);
    log.info('data key destroyed (crypto-shredding)', { subjectId: cmd.subjectId });
    return { destroyed: true };
  },
});

export type ShredActivities = ReturnType<typeof createShredActivities>;
