// Operator-typed durations and instants ("7d", "12h", "2026-11-01") for CLI filters such as
// `tunnus runs --since 7d`. Pure: the caller passes "now".

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export class DurationError extends Error {}

/** "30m", "12h", "7d", "2w" → milliseconds. Anything else is refused with the accepted forms. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,6})\s*([mhdw])$/.exec(text.trim());
  if (!match) {
    throw new DurationError(`"${text}" is not a duration: use a number and m, h, d or w (e.g. 7d, 12h)`);
  }
  const amount = Number(match[1]);
  if (amount === 0) throw new DurationError(`"${text}" is not a duration: it must be more than 0`);
  return amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/**
 * The instant a `--since` value names: a duration back from now ("7d"), a date ("2026-11-01",
 * midnight UTC) or an ISO instant ("2026-11-01T08:00:00Z").
 */
export function sinceInstant(text: string, now: Date): Date {
  const trimmed = text.trim();
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(trimmed)) {
    const day = trimmed.slice(0, 10);
    const at = new Date(trimmed.length === 10 ? `${day}T00:00:00Z` : trimmed);
    // Date rolls 2026-02-30 over to March 2; an operator typo must not silently move the window.
    const midnight = new Date(`${day}T00:00:00Z`);
    if (
      Number.isNaN(at.getTime()) ||
      Number.isNaN(midnight.getTime()) ||
      midnight.toISOString().slice(0, 10) !== day
    ) {
      throw new DurationError(`"${text}" is not a real date`);
    }
    return at;
  }
  return new Date(now.getTime() - parseDuration(trimmed));
}
