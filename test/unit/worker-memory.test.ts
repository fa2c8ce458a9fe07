import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cgroupMemoryLimit,
  DEFAULT_CONCURRENCY,
  workerConcurrency,
  workerMemoryBytes,
  workflowCacheSize,
} from '../../src/worker-memory';

const GB = 1024 ** 3;

describe("the worker's workflow cache is sized from its memory", () => {
  it('a quarter of the memory at 1.5 MB per workflow, within 50 and 2,000', () => {
    assert.equal(workflowCacheSize(undefined, 1 * GB), 170);
    assert.equal(workflowCacheSize(undefined, 4 * GB), 682);
    assert.equal(workflowCacheSize(undefined, 64 * GB), 2000);
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
