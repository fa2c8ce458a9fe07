import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DurationError, parseDuration, sinceInstant } from '../../src/domain/durations';

describe('durations for CLI filters', () => {
  const now = new Date('2026-11-28T12:00:00Z');

  it('reads minutes, hours, days and weeks', () => {
    assert.equal(parseDuration('30m'), 30 * 60_000);
    assert.equal(parseDuration('12h'), 12 * 3_600_000);
    assert.equal(parseDuration('7d'), 7 * 86_400_000);
    assert.equal(parseDuration('2w'), 14 * 86_400_000);
  });

  it('refuses what is not a duration, naming the accepted forms', () => {
    for (const bad of ['7', 'd', '7 days', '-1d', '1.5h', '0d', '7y', '']) {
      assert.throws(() => parseDuration(bad), DurationError, bad);
    }
    assert.throws(() => parseDuration('7y'), /use a number and m, h, d or w/);
  });

  it('--since takes a duration back from now, a date or an instant', () => {
    assert.equal(sinceInstant('7d', now).toISOString(), '2026-11-21T12:00:00.000Z');
    assert.equal(sinceInstant('12h', now).toISOString(), '2026-11-28T00:00:00.000Z');
    assert.equal(sinceInstant('2026-11-01', now).toISOString(), '2026-11-01T00:00:00.000Z');
    assert.equal(sinceInstant('2026-11-01T08:30:00+02:00', now).toISOString(), '2026-11-01T06:30:00.000Z');
  });

  it('a date that does not exist is refused, not rolled over to the next month', () => {
    assert.throws(() => sinceInstant('2026-02-30', now), /not a real date/);
    assert.throws(() => sinceInstant('2026-13-01', now), /not a real date/);
  });
});
