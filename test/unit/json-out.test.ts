import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { writeJsonWithList } from '../../src/cli/json-out';

// The streamed --json document is byte for byte what JSON.stringify(document, null, 2) gives.

async function written(head: Record<string, unknown>, items: unknown[], highWaterMark = 16): Promise<string> {
  let text = '';
  // A small buffer, so most writes wait for a drain as a slow pipe makes them.
  const sink = new Writable({
    highWaterMark,
    write: (chunk, _enc, done) => ((text += String(chunk)), setImmediate(done)),
  });
  await writeJsonWithList(sink, head, 'persons', items);
  return text;
}

describe('writeJsonWithList', () => {
  const head = { kind: 'policy', summary: { persons: 2, actions: { groups: 1 } }, withoutRecord: ['A1'] };

  it('writes what JSON.stringify with two-space indent writes, nested objects and strings with newlines included', async () => {
    const items = [
      { employeeId: 'E1', steps: ['add to ERP-Medication'], state: { account: null }, note: 'a\nb "q"' },
      { employeeId: 'E2', steps: [], warnings: [], nested: { deep: [1, [2, { x: null }]] } },
    ];
    assert.equal(await written(head, items), `${JSON.stringify({ ...head, persons: items }, null, 2)}\n`);
  });

  it('an empty list and a single item come out as JSON.stringify has them', async () => {
    assert.equal(await written(head, []), `${JSON.stringify({ ...head, persons: [] }, null, 2)}\n`);
    const one = [{ employeeId: 'E1' }];
    assert.equal(await written({}, one), `${JSON.stringify({ persons: one }, null, 2)}\n`);
  });

  it('a stream that fails while the writer waits for it to drain rejects instead of hanging', async () => {
    const stuck = new PassThrough({ highWaterMark: 1 }); // never read: it never drains
    const writing = writeJsonWithList(stuck, head, 'persons', [{ a: 1 }, { b: 2 }]);
    setImmediate(() => stuck.destroy(new Error('EPIPE')));
    await assert.rejects(writing, /EPIPE/);
  });
});
