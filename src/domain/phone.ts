// Phone numbers as the telephony platform owns them, and what they become in AD and the cloud.
// Pure: the sync reads the platform and the current values, and writes only the difference.

export type PhoneNumberType = 'work' | 'mobile';

/** One number assigned to a person on the telephony platform. */
export interface PhoneNumber {
  type: PhoneNumberType;
  /** E.164, e.g. +358912345678. */
  e164: string;
  /** The number to show first for its type; the platform keeps at most one per type. */
  primary: boolean;
}

/** The AD attributes Tunnus manages for phones. Absent means "no value". */
export interface AdPhoneAttributes {
  telephoneNumber?: string;
  mobile?: string;
}

/** The cloud (Graph) user fields Tunnus manages for phones, in Graph's own shape. */
export interface CloudPhoneFields {
  businessPhones: string[];
  mobilePhone: string | null;
}

/**
 * A change to AD phone attributes. A key that is present is written; a present key whose value
 * is undefined is cleared — the same convention as Directory.updateAttributes.
 */
export type AdPhoneChange = { [K in keyof AdPhoneAttributes]?: string | undefined };

/** A change to cloud phone fields, usable as a Graph PATCH body (`[]` and `null` clear). */
export type CloudPhoneChange = Partial<CloudPhoneFields>;

export interface CloudPhoneOptions {
  /**
   * How many work numbers go into businessPhones. Graph documents that "only one number can be
   * set for this property" although it is a collection, so the default is 1; raise it only for a
   * target known to accept more.
   */
  maxBusinessPhones?: number;
}

/** Numbers of one type, primary first, then in the platform's order; duplicates dropped. */
export function numbersOfType(numbers: readonly PhoneNumber[], type: PhoneNumberType): string[] {
  const ofType = numbers.filter((n) => n.type === type);
  // A stable sort keeps the platform's order among the non-primary numbers.
  const ordered = [...ofType].sort((a, b) => Number(b.primary) - Number(a.primary));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const n of ordered) {
    const key = comparable(n.e164);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(n.e164);
  }
  return out;
}

/**
 * The primary number of a type. If the platform marks none as primary, the first of the type is
 * used, so a person with one unmarked number still gets it in AD.
 */
export function primaryNumber(numbers: readonly PhoneNumber[], type: PhoneNumberType): string | undefined {
  return numbersOfType(numbers, type)[0];
}

/** telephoneNumber = primary work number, mobile = primary mobile number. */
export function adPhoneAttributes(numbers: readonly PhoneNumber[]): AdPhoneAttributes {
  const out: AdPhoneAttributes = {};
  const work = primaryNumber(numbers, 'work');
  const mobile = primaryNumber(numbers, 'mobile');
  if (work !== undefined) out.telephoneNumber = work;
  if (mobile !== undefined) out.mobile = mobile;
  return out;
}

/** businessPhones = work numbers, primary first (capped, see CloudPhoneOptions); mobilePhone = primary mobile. */
export function cloudPhoneFields(
  numbers: readonly PhoneNumber[],
  options: CloudPhoneOptions = {},
): CloudPhoneFields {
  const max = options.maxBusinessPhones ?? 1;
  return {
    businessPhones: numbersOfType(numbers, 'work').slice(0, Math.max(0, max)),
    mobilePhone: primaryNumber(numbers, 'mobile') ?? null,
  };
}

/**
 * What to write to AD so that `current` becomes `desired`. Numbers that differ only in formatting
 * ("+358 9 123 4567" vs "+35891234567") count as equal: an admin's formatting is not overwritten.
 */
export function diffAdPhone(desired: AdPhoneAttributes, current: AdPhoneAttributes): AdPhoneChange {
  const change: AdPhoneChange = {};
  for (const key of ['telephoneNumber', 'mobile'] as const) {
    const want = blankToUndefined(desired[key]);
    const have = blankToUndefined(current[key]);
    if (!sameNumber(want, have)) change[key] = want;
  }
  return change;
}

/** What to PATCH on the cloud user so that `current` becomes `desired`. */
export function diffCloudPhone(
  desired: CloudPhoneFields,
  current: Partial<CloudPhoneFields>,
): CloudPhoneChange {
  const change: CloudPhoneChange = {};
  const haveBusiness = current.businessPhones ?? [];
  const sameBusiness =
    desired.businessPhones.length === haveBusiness.length &&
    desired.businessPhones.every((n, i) => sameNumber(n, haveBusiness[i]));
  if (!sameBusiness) change.businessPhones = [...desired.businessPhones];
  const wantMobile = blankToUndefined(desired.mobilePhone ?? undefined);
  const haveMobile = blankToUndefined(current.mobilePhone ?? undefined);
  if (!sameNumber(wantMobile, haveMobile)) change.mobilePhone = wantMobile ?? null;
  return change;
}

export interface PhoneSyncPlan {
  ad: AdPhoneChange;
  cloud: CloudPhoneChange;
  /** True when neither side needs a write. */
  inSync: boolean;
}

/** The whole phone step: desired values from the platform's numbers, diffed against both targets. */
export function planPhoneSync(
  numbers: readonly PhoneNumber[],
  current: { ad: AdPhoneAttributes; cloud: Partial<CloudPhoneFields> },
  options: CloudPhoneOptions = {},
): PhoneSyncPlan {
  const ad = diffAdPhone(adPhoneAttributes(numbers), current.ad);
  const cloud = diffCloudPhone(cloudPhoneFields(numbers, options), current.cloud);
  return { ad, cloud, inSync: Object.keys(ad).length === 0 && Object.keys(cloud).length === 0 };
}

/**
 * Collapses a run of change-feed items to the last one per employee, in order of their last
 * change: each item carries the full set of numbers after the change, so only the last counts.
 */
export function latestPerEmployee<T extends { employeeId: string }>(changes: readonly T[]): T[] {
  const last = new Map<string, T>();
  for (const c of changes) {
    last.delete(c.employeeId);
    last.set(c.employeeId, c);
  }
  return [...last.values()];
}

/** Formatting characters people put in numbers; E.164 has none of them. */
function comparable(n: string): string {
  return n.replace(/[\s\-().]/g, '');
}

function sameNumber(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return comparable(a) === comparable(b);
}

function blankToUndefined(v: string | undefined | null): string | undefined {
  return v === undefined || v === null || v.trim() === '' ? undefined : v;
}

/** One page of the periodic sync: the feed from `cursor` (the start when absent). */
export interface PhonePageRequest {
  cursor?: string;
  /** Changes per page; the platform allows up to 500. */
  limit?: number;
}

/** A change a target refused for good: skipped, so the cursor moves on, and reported. */
export interface RejectedPhoneChange {
  employeeId: string;
  /** The feed's sequence number of the change. */
  sequence: number;
  /** The failure type (src/domain/error-types.ts), e.g. DirectoryConstraint. */
  type: string;
  /** The classified message (operation, code, field), never the number. */
  reason: string;
}

export interface PhonePageResult {
  /** The cursor after this page: where the next page (or the next run) starts. */
  next: string;
  hasMore: boolean;
  /** Changes read from the feed in this page. */
  changes: number;
  /** People synced (the last change per person counts). */
  people: number;
  /** Of those, people whose AD or cloud numbers were written. */
  changed: number;
  rejected: RejectedPhoneChange[];
}
