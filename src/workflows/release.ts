import { patched } from '@temporalio/workflow';

// One patch marker per release for the person and converge runs (docs/versioning.md). Each
// patch a run asks costs it two history events the first time (a marker and the SDK's
// TemporalChangeVersion upsert, a visibility write on the server): six patches were ~10 of a
// joiner's 43 events. A run started on this release asks one id and takes every change released
// so far without asking them; a run started on earlier code finds no release marker in its
// history and asks each patch where it always did, so its recorded commands replay unchanged.

/** The release marker: every patch below is on in a run that recorded it. */
export const RELEASE_PATCH = 'tunnus-2026-12';

/** The patches the release marker stands for, by workflow (a new patch is asked on its own). */
export const RELEASED_PATCHES = {
  personWorkflow: [
    'notices',
    'read-model',
    'read-model-local',
    'ops-terminate',
    'guard-due-ends',
    'crypto-shred',
  ],
  converge: ['notices-licence-wait', 'joiner-local-steps', 'ops-terminate', 'credential-handover'],
} as const;

type Released<W extends keyof typeof RELEASED_PATCHES> = (typeof RELEASED_PATCHES)[W][number];

/**
 * Call first in the run, before any command: the release is decided once per run (a run that
 * began on earlier code keeps its per-patch answers for its whole life). Takes only released ids:
 * a patch added later goes through `patched()` itself, or a run started on this release would
 * take its new path when it replays.
 */
export function releasePatches<W extends keyof typeof RELEASED_PATCHES>(
  _workflow: W,
): (id: Released<W>) => boolean {
  const released = patched(RELEASE_PATCH);
  return (id) => released || patched(id);
}
