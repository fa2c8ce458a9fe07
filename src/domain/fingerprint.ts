import type { HrRecord } from './record';

/**
 * A stable fingerprint of a record's content: same content in any key order → same string.
 * Used to drop duplicate HR deliveries. Pure (no crypto) so workflows may call it.
 */
export function recordFingerprint(record: HrRecord): string {
  const keys = (Object.keys(record) as (keyof HrRecord)[]).filter((k) => record[k] !== undefined).sort();
  return JSON.stringify(keys.map((k) => [k, record[k]]));
}
