/**
 * A stable fingerprint of a record's content: same content in any key order → same string.
 * Used to drop duplicate deliveries (HR or education records, or a merged record). Pure (no crypto) so workflows may call it.
 */
export function recordFingerprint(record: object): string {
  const fields = record as Record<string, unknown>;
  const keys = Object.keys(fields)
    .filter((k) => fields[k] !== undefined)
    .sort();
  return JSON.stringify(keys.map((k) => [k, fields[k]]));
}
