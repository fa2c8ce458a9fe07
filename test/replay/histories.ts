import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';

// The recorded histories on disk (test/replay/histories/*.json, made by scripts/record-histories.ts)
// and how they are read back for Worker.runReplayHistories.
//
// Format: the protobufjs object form of temporal.api.history.v1.History (int64 as strings, enums
// by name, bytes base64, timestamps as { seconds, nanos }), which round-trips exactly through
// History.toObject / History.fromObject. Not the proto3 JSON of `temporal workflow show --output
// json`: the SDK's historyFromJSON/historyToJSON throw "type must be a Type" in this install, whose
// lockfile holds two copies of protobufjs 8 (under @temporalio/common and @temporalio/proto).

type History = temporal.api.history.v1.IHistory;
const { History } = temporal.api.history.v1;

export const historiesDir = path.join(__dirname, 'histories');
export const manifestFile = path.join(historiesDir, 'manifest.json');
/**
 * Histories of earlier recordings whose branches are still live (a patch not yet retired), one
 * directory per recording (`histories-kept`, `histories-kept-2026-12-02`, …): the recorder never
 * touches them, the replay test replays them too (docs/versioning.md, rule 6).
 */
export function keptDirs(): string[] {
  return fs
    .readdirSync(__dirname)
    .filter(
      (name) =>
        name.startsWith('histories-kept') && fs.existsSync(path.join(__dirname, name, 'manifest.json')),
    )
    .sort()
    .map((name) => path.join(__dirname, name));
}

/** One entry of manifest.json: what replay needs besides the history, and what it shows. */
export interface RecordedHistory {
  workflowId: string;
  workflowType: string;
  /** The phase the workflow was in when its history was fetched. */
  phase: string;
  events: number;
}

export type Manifest = Record<string, RecordedHistory>;

export function encodeHistory(history: History): string {
  const object = History.toObject(History.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
  return JSON.stringify(object);
}

export function decodeHistory(json: string): temporal.api.history.v1.History {
  return History.fromObject(JSON.parse(json) as Record<string, unknown>);
}

export function readManifest(dir = historiesDir): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

export function readHistory(name: string, dir = historiesDir): temporal.api.history.v1.History {
  return decodeHistory(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
}

/** Every recorded history (and every kept one) with its workflow id, as runReplayHistories takes them. */
export function recordedHistories(
  manifest: Manifest = readManifest(),
): { name: string; workflowId: string; history: temporal.api.history.v1.History }[] {
  return [
    ...Object.entries(manifest).map(([name, entry]) => ({
      name,
      workflowId: entry.workflowId,
      history: readHistory(name),
    })),
    // Named by their directory: `kept/x` (histories-kept), `kept-2026-12-02/x`, …
    ...keptDirs().flatMap((dir) =>
      Object.entries(readManifest(dir)).map(([name, entry]) => ({
        name: `${path.basename(dir).replace(/^histories-/, '')}/${name}`,
        workflowId: entry.workflowId,
        history: readHistory(name, dir),
      })),
    ),
  ];
}
