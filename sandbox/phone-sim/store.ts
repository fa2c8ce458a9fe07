// The telephony platform's state: number assignments, the catalogue, and the changes feed. Kept
// apart from HTTP so the rules (unique numbers, one primary per type, versioned entries) read
// plainly.

export type NumberType = 'work' | 'mobile';

export interface SimNumber {
  type: NumberType;
  e164: string;
  primary: boolean;
}

export interface SimCatalogueFields {
  displayName: string;
  title: string;
  unit: string;
  email: string;
}

export interface SimCatalogueEntry extends SimCatalogueFields {
  employeeId: string;
  /** Store-wide revision of the last real change; the ETag is derived from it. */
  version: number;
  updatedAt: string;
}

export type ChangeKind = 'assigned' | 'changed' | 'released';

export interface SimChange {
  sequence: number;
  employeeId: string;
  kind: ChangeKind;
  numbers: SimNumber[];
  changedAt: string;
}

export class StoreError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const e164Pattern = /^\+[1-9]\d{6,14}$/;

export class PhoneStore {
  private persons = new Map<string, SimNumber[]>();
  private catalogue = new Map<string, SimCatalogueEntry>();
  private changes: SimChange[] = [];
  private sequence = 0;
  // One revision counter for all entries: an ETag never repeats, even after delete and re-create.
  private revision = 0;

  reset(): void {
    this.persons.clear();
    this.catalogue.clear();
    this.changes = [];
    // The sequence keeps counting: a cursor from before a reset must not point into new history.
  }

  /** Known = has ever had numbers or has a catalogue entry. */
  numbersOf(employeeId: string): SimNumber[] | undefined {
    const numbers = this.persons.get(employeeId);
    if (numbers) return numbers.map((n) => ({ ...n }));
    if (this.catalogue.has(employeeId)) return [];
    return undefined;
  }

  /** Replaces the person's numbers with the given set (admin: the switchboard operator's work). */
  assign(employeeId: string, numbers: SimNumber[]): SimNumber[] {
    const normalised = normaliseNumbers(numbers);
    for (const n of normalised) {
      const holder = this.holderOf(n.e164);
      if (holder !== undefined && holder !== employeeId) {
        throw new StoreError(409, 'number_in_use', 'The number is assigned to another person');
      }
    }
    const before = this.persons.get(employeeId);
    this.persons.set(employeeId, normalised);
    if (before === undefined || !sameNumbers(before, normalised)) {
      this.emit(employeeId, before === undefined || before.length === 0 ? 'assigned' : 'changed', normalised);
    }
    return normalised.map((n) => ({ ...n }));
  }

  /** Replaces one number by another, keeping its type and primary flag. */
  replaceNumber(employeeId: string, from: string, to: string): SimNumber[] {
    const current = this.persons.get(employeeId);
    if (!current) throw new StoreError(404, 'person_not_found', 'No such person');
    const index = current.findIndex((n) => n.e164 === from);
    if (index < 0) throw new StoreError(404, 'number_not_found', 'The person has no such number');
    const next = current.map((n, i) => (i === index ? { ...n, e164: to } : { ...n }));
    return this.assign(employeeId, next);
  }

  /** Releases all of the person's numbers (they stay known, with none). */
  release(employeeId: string): void {
    const current = this.persons.get(employeeId);
    if (!current) throw new StoreError(404, 'person_not_found', 'No such person');
    if (current.length === 0) return;
    this.persons.set(employeeId, []);
    this.emit(employeeId, 'released', []);
  }

  getEntry(employeeId: string): SimCatalogueEntry | undefined {
    const e = this.catalogue.get(employeeId);
    return e ? { ...e } : undefined;
  }

  listEntries(): SimCatalogueEntry[] {
    return [...this.catalogue.values()].map((e) => ({ ...e }));
  }

  /** Writes the entry; the version moves only when a field actually changes. */
  putEntry(
    employeeId: string,
    fields: SimCatalogueFields,
    now: Date,
  ): { entry: SimCatalogueEntry; created: boolean } {
    const current = this.catalogue.get(employeeId);
    if (current && sameFields(current, fields)) return { entry: { ...current }, created: false };
    const entry: SimCatalogueEntry = {
      employeeId,
      ...pickFields(fields),
      version: ++this.revision,
      updatedAt: now.toISOString(),
    };
    this.catalogue.set(employeeId, entry);
    return { entry: { ...entry }, created: current === undefined };
  }

  deleteEntry(employeeId: string): boolean {
    return this.catalogue.delete(employeeId);
  }

  /** Changes with a sequence greater than `after`, at most `limit` of them. */
  changesAfter(after: number, limit: number): { changes: SimChange[]; last: number; hasMore: boolean } {
    const pending = this.changes.filter((c) => c.sequence > after);
    const page = pending.slice(0, limit);
    const last = page.length > 0 ? page[page.length - 1]!.sequence : Math.max(after, 0);
    return {
      changes: page.map((c) => ({ ...c, numbers: c.numbers.map((n) => ({ ...n })) })),
      last,
      hasMore: pending.length > page.length,
    };
  }

  get latestSequence(): number {
    return this.sequence;
  }

  private holderOf(e164: string): string | undefined {
    for (const [id, numbers] of this.persons) if (numbers.some((n) => n.e164 === e164)) return id;
    return undefined;
  }

  private emit(employeeId: string, kind: ChangeKind, numbers: SimNumber[]): void {
    this.sequence += 1;
    this.changes.push({
      sequence: this.sequence,
      employeeId,
      kind,
      numbers: numbers.map((n) => ({ ...n })),
      changedAt: new Date().toISOString(),
    });
  }
}

/**
 * The platform's rules for a person's numbers: valid E.164, no duplicates, and exactly one primary
 * per type that has numbers (the first of a type becomes primary when none is marked).
 */
export function normaliseNumbers(numbers: SimNumber[]): SimNumber[] {
  const seen = new Set<string>();
  for (const n of numbers) {
    if (n.type !== 'work' && n.type !== 'mobile')
      throw new StoreError(422, 'validation_failed', 'Bad number type');
    if (!e164Pattern.test(n.e164)) throw new StoreError(422, 'validation_failed', 'Number is not E.164');
    if (seen.has(n.e164)) throw new StoreError(422, 'validation_failed', 'Duplicate number');
    seen.add(n.e164);
  }
  const out = numbers.map((n) => ({ type: n.type, e164: n.e164, primary: n.primary === true }));
  for (const type of ['work', 'mobile'] as const) {
    const ofType = out.filter((n) => n.type === type);
    const primaries = ofType.filter((n) => n.primary);
    if (primaries.length > 1)
      throw new StoreError(422, 'validation_failed', `More than one primary ${type} number`);
    if (ofType.length > 0 && primaries.length === 0) ofType[0]!.primary = true;
  }
  return out;
}

function sameNumbers(a: SimNumber[], b: SimNumber[]): boolean {
  return (
    a.length === b.length &&
    a.every((n, i) => n.type === b[i]!.type && n.e164 === b[i]!.e164 && n.primary === b[i]!.primary)
  );
}

function pickFields(f: SimCatalogueFields): SimCatalogueFields {
  return { displayName: f.displayName, title: f.title, unit: f.unit, email: f.email };
}

function sameFields(a: SimCatalogueFields, b: SimCatalogueFields): boolean {
  return a.displayName === b.displayName && a.title === b.title && a.unit === b.unit && a.email === b.email;
}
