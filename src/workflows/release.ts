import { patched } from '@temporalio/workflow';

// One patch marker per release for the person and converge runs (docs/versioning.md). Each
// patch a run asks costs it two history events the first time (a marker and the SDK's
// TemporalChangeVersion upsert, a visibility write on the server): six patches were ~10 of a
// joiner's 43 events. A run started on this release asks one id and takes every change released
// so far without asking them; a run started on earlier code finds no such marker in its history
// and asks the earlier release's marker, then each patch, where it always did, so its recorded
// commands replay unchanged.

/** The release marker: every patch below is on in a run that recorded it. */
export const RELEASE_PATCH = 'tunnus-2026-12-2';

/** The earlier release marker, asked only by runs that did not record the current one. */
export const EARLIER_RELEASE_PATCH = 'tunnus-2026-12';

/** The patches each release marker stands for, by workflow (a new patch is asked on its own). */
const EARLIER_RELEASED = {
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

export const RELEASED_PATCHES = {
  personWorkflow: [...EARLIER_RELEASED.personWorkflow, 'joiner-here'],
  converge: [...EARLIER_RELEASED.converge],
} as const;

type Released<W extends keyof typeof RELEASED_PATCHES> = (typeof RELEASED_PATCHES)[W][number];

/**
 * Call first in the run, before any command: the release is decided once per run (a run that
 * began on earlier code keeps its per-patch answers for its whole life). Takes only released ids:
 * a patch added later goes through `patched()` itself, or a run started on this release would
 * take its new path when it replays.
 */
export function releasePatches<W extends keyof typeof RELEASED_PATCHES>(
  workflow: W,
): (id: Released<W>) => boolean {
  if (patched(RELEASE_PATCH)) return () => true;
  // Only a run that began on earlier code gets here (on replay, or live on its next patch).
  const earlier = patched(EARLIER_RELEASE_PATCH);
  const inEarlier = new Set<string>(EARLIER_RELEASED[workflow]);
  return (id) => (earlier && inEarlier.has(id)) || patched(id);
}
