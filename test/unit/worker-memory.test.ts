import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  cgroupMemoryLimit,
  DEFAULT_CONCURRENCY,
  v8HeapFlags,
  v8HeapSizing,
  WORKER_NODE_FLAGS,
  WORKER_PROCESS_ENV,
  workerConcurrency,
  workerMemoryBytes,
  workflowCacheSize,
} from '../../src/worker-memory';
import { SHARED_WORKFLOW_MODULES } from '../../src/workflow-bundle';

const GB = 1024 ** 3;

describe("the worker's workflow cache is sized from its memory", () => {
  it('a quarter of the memory at 1.5 MB per workflow, within 50 and 200', () => {
    assert.equal(workflowCacheSize(undefined, 1 * GB), 170);
    assert.equal(workflowCacheSize(undefined, 4 * GB), 200);
    assert.equal(workflowCacheSize(undefined, 64 * GB), 200);
    assert.equal(workflowCacheSize(undefined, 0.1 * GB), 50);
  });

  it('WORKER_MAX_CACHED_WORKFLOWS wins, 0 included (cache off)', () => {
    assert.equal(workflowCacheSize(300, 64 * GB), 300);
    assert.equal(workflowCacheSize(0, 64 * GB), 0);
  });

  it("a container's cgroup limit counts when lower than the machine's memory", () => {
    assert.equal(workerMemoryBytes(16 * GB, 1 * GB), 1 * GB);
    assert.equal(workerMemoryBytes(2 * GB, 8 * GB), 2 * GB);
    assert.equal(workerMemoryBytes(2 * GB, undefined), 2 * GB);
    const files: Record<string, string> = { '/sys/fs/cgroup/memory.max': '536870912\n' };
    const read = (f: string) => {
      if (!(f in files)) throw new Error('ENOENT');
      return files[f]!;
    };
    assert.equal(cgroupMemoryLimit(read), 512 * 1024 * 1024);
    files['/sys/fs/cgroup/memory.max'] = 'max\n';
    assert.equal(cgroupMemoryLimit(read), undefined);
  });
});

describe("the worker's concurrency is explicit", () => {
  it('defaults: 40 workflow tasks, 100 activities, 100 local activities', () => {
    assert.deepEqual(workerConcurrency(), DEFAULT_CONCURRENCY);
    assert.deepEqual(workerConcurrency(), { workflowTasks: 40, activities: 100, localActivities: 100 });
  });

  it('each setting wins on its own; workflow tasks never under the 2 the SDK needs with a cache', () => {
    assert.deepEqual(workerConcurrency({ activities: 20 }), {
      workflowTasks: 40,
      activities: 20,
      localActivities: 100,
    });
    assert.equal(workerConcurrency({ workflowTasks: 1 }).workflowTasks, 2);
    assert.equal(workerConcurrency({ localActivities: 8 }).localActivities, 8);
  });
});

describe("the worker's V8 heaps are sized (both isolates)", () => {
  it('defaults: 4 MB semi-spaces and a 1 GB old space; each setting wins on its own', () => {
    assert.deepEqual(v8HeapSizing(), { semiSpaceMb: 4, oldSpaceMb: 1024 });
    assert.deepEqual(v8HeapSizing({ semiSpaceMb: 16 }), { semiSpaceMb: 16, oldSpaceMb: 1024 });
    assert.deepEqual(v8HeapSizing({ oldSpaceMb: 2048 }), { semiSpaceMb: 4, oldSpaceMb: 2048 });
    assert.equal(v8HeapFlags(v8HeapSizing()), WORKER_NODE_FLAGS.join(' '));
  });

  it('the Dockerfile and `npm run worker` start the main thread with the same flags and environment', () => {
    const root = path.join(__dirname, '../..');
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    const argv = JSON.parse(cmd ?? '[]') as string[];
    assert.deepEqual(argv.slice(0, 1 + WORKER_NODE_FLAGS.length), ['node', ...WORKER_NODE_FLAGS]);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const processEnv = Object.entries(WORKER_PROCESS_ENV).map(([name, value]) => `${name}=${value}`);
    assert.equal(
      pkg.scripts.worker,
      `${processEnv.join(' ')} node ${WORKER_NODE_FLAGS.join(' ')} --import tsx src/worker.ts`,
    );
    // WORKER_PROCESS_ENV in the image: an ENV line of its own or a continued line of one
    for (const assignment of processEnv)
      assert.match(dockerfile, new RegExp(`^(ENV |\\s+)${assignment}$`, 'm'));
  });

  it('workflow modules shared across workflows hold no module state and no workflow API', () => {
    assert.ok(SHARED_WORKFLOW_MODULES.length > 0);
    for (const file of SHARED_WORKFLOW_MODULES) {
      const text = fs.readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /from '@temporalio\/workflow'/, file);
      assert.doesNotMatch(text, /^(export )?(let|var) /m, file);
      assert.doesNotMatch(text, /Date\.now\(|Math\.random\(|new Date\(\)/, file);
    }
  });
});
