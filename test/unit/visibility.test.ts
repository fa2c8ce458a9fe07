import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quoted, runningPersonsQuery } from '../../src/ops/visibility';

describe('visibility queries are built with escaped values', () => {
  it('a quote or a backslash in a value cannot end the string literal', () => {
    assert.equal(quoted('tunnus'), "'tunnus'");
    assert.equal(quoted("it's"), "'it\\'s'");
    assert.equal(quoted('a\\'), "'a\\\\'");
    assert.equal(quoted("x\\' OR WorkflowType = 'y"), "'x\\\\\\' OR WorkflowType = \\'y'");
  });

  it('running persons on a task queue', () => {
    assert.equal(
      runningPersonsQuery("q'1"),
      "WorkflowType = 'personWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = 'q\\'1'",
    );
  });
});
