import { z } from 'zod';
import type { PhoneNumber } from '../../domain/phone';
import { PhoneError, errorFromResponse } from './errors';
import { createPhoneHttp, type PhoneAnswer } from './http';

// The telephony platform's REST API (docs/telephony-api.md), spoken over the axios transport in
// http.ts (TLS always verified, the configured CA trusted). This module knows the endpoints, what
// each status means for them, and the shapes of the answers.

/** The catalogue fields Tunnus writes. */
export interface CatalogueEntryInput {
  employeeId: string;
  displayName: string;
  title: string;
  unit: string;
  email: string;
}

/** A catalogue entry as the platform holds it. `numbers` are the person's assigned numbers (read-only). */
export interface CatalogueEntry extends CatalogueEntryInput {
  numbers: PhoneNumber[];
  updatedAt: string;
  etag: string;
}

export interface UpsertResult {
  entry: CatalogueEntry;
  outcome: 'created' | 'updated' | 'unchanged';
}

export interface UpsertOptions {
  /**
   * Write only if the entry still has this ETag (a 412 becomes a non-retryable `conflict`).
   * Without it the connector reads, compares and writes with the ETag it read, re-reading when
   * another writer got in between.
   */
  ifMatch?: string;
}

export type NumberChangeKind = 'assigned' | 'changed' | 'released';

/** One item of the changes feed: the person's full set of numbers after the change. */
export interface NumberChange {
  sequence: number;
  employeeId: string;
  kind: NumberChangeKind;
  numbers: PhoneNumber[];
  changedAt: string;
}

export interface ChangesPage {
  changes: NumberChange[];
  /** Pass to the next call; when `hasMore` is false, store it and poll with it later. */
  next: string;
  hasMore: boolean;
}

/**
 * The telephony directory as Tunnus uses it. Every method throws a PhoneError (errors.ts) whose
 * `kind` and `retryable` say whether trying again can help.
 */
export interface PhoneDirectory {
  /** The numbers assigned to the person, or null when the platform does not know the person. */
  numbersFor(employeeId: string): Promise<PhoneNumber[] | null>;
  /** The catalogue entry, or null when there is none. */
  getCatalogueEntry(employeeId: string): Promise<CatalogueEntry | null>;
  /** Creates or updates the entry; writing what is already there changes nothing (same ETag). */
  upsertCatalogueEntry(entry: CatalogueEntryInput, options?: UpsertOptions): Promise<UpsertResult>;
  /** Removes the entry; an entry that is already gone is success ('absent'). */
  removeCatalogueEntry(employeeId: string): Promise<'removed' | 'absent'>;
  /** One page of number changes after `cursor` (from the beginning when undefined). */
  changesSince(cursor?: string, limit?: number): Promise<ChangesPage>;
  /** Releases pooled connections. */
  close(): Promise<void>;
}

export interface PhoneDirectoryOptions {
  /** e.g. https://phone.example.fi — the API lives under /api/v1. */
  baseUrl: string;
  apiKey: string;
  /** PEM file of the CA to trust instead of the system store (the sandbox CA, a private CA). */
  caCertPath?: string;
  /** Per request, including reading the body. Default 10 s. */
  timeoutMs?: number;
}

// Answers are checked at the edge: a platform that changed its contract fails loudly, not later.
const numberSchema = z.object({ type: z.enum(['work', 'mobile']), e164: z.string(), primary: z.boolean() });
const personNumbersSchema = z.object({ employeeId: z.string(), numbers: z.array(numberSchema) });
const catalogueEntrySchema = z.object({
  employeeId: z.string(),
  displayName: z.string(),
  title: z.string(),
  unit: z.string(),
  email: z.string(),
  numbers: z.array(numberSchema).default([]),
  updatedAt: z.string(),
  etag: z.string(),
});
const changesPageSchema = z.object({
  changes: z.array(
    z.object({
      sequence: z.number(),
      employeeId: z.string(),
      kind: z.enum(['assigned', 'changed', 'released']),
      numbers: z.array(numberSchema),
      changedAt: z.string(),
    }),
  ),
  next: z.string(),
  hasMore: z.boolean(),
});

function parseAnswer<T>(operation: string, schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  // Paths only: the values could be personal data.
  const fields = [...new Set(result.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ');
  throw new PhoneError('invalid', `telephony ${operation}: unexpected answer shape (${fields})`, {
    code: 'unexpected_response',
  });
}

/** How often a read-compare-write is retried when another writer changes the entry in between. */
const upsertAttempts = 3;

export function createPhoneDirectory(options: PhoneDirectoryOptions): PhoneDirectory {
  const http = createPhoneHttp({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs ?? 10_000,
    ...(options.caCertPath === undefined ? {} : { caCertPath: options.caCertPath }),
  });

  function failure(operation: string, answer: PhoneAnswer): PhoneError {
    return errorFromResponse(
      operation,
      answer.status,
      { retryAfter: answer.retryAfter },
      errorCodeOf(answer.body),
      errorFieldsOf(answer.body),
    );
  }

  const enc = encodeURIComponent;

  async function getCatalogueEntry(employeeId: string): Promise<CatalogueEntry | null> {
    const op = 'GET catalogue entry';
    const answer = await http.request(op, 'GET', `/api/v1/catalogue/${enc(employeeId)}`);
    if (answer.status === 404) return null;
    if (answer.status !== 200) throw failure(op, answer);
    return parseAnswer(op, catalogueEntrySchema, answer.body);
  }

  async function put(entry: CatalogueEntryInput, condition: Record<string, string>): Promise<PhoneAnswer> {
    const body = {
      employeeId: entry.employeeId,
      displayName: entry.displayName,
      title: entry.title,
      unit: entry.unit,
      email: entry.email,
    };
    return http.request('PUT catalogue entry', 'PUT', `/api/v1/catalogue/${enc(entry.employeeId)}`, {
      body,
      headers: condition,
    });
  }

  return {
    async numbersFor(employeeId) {
      const op = 'GET person numbers';
      const answer = await http.request(op, 'GET', `/api/v1/persons/${enc(employeeId)}/numbers`);
      if (answer.status === 404 && errorCodeOf(answer.body) === 'person_not_found') return null;
      if (answer.status !== 200) throw failure(op, answer);
      return parseAnswer(op, personNumbersSchema, answer.body).numbers;
    },

    getCatalogueEntry,

    async upsertCatalogueEntry(entry, upsertOptions = {}) {
      const op = 'PUT catalogue entry';
      if (upsertOptions.ifMatch !== undefined) {
        const answer = await put(entry, { 'if-match': upsertOptions.ifMatch });
        if (answer.status === 412) {
          throw new PhoneError('conflict', `telephony ${op}: entry changed since it was read (412)`, {
            status: 412,
            retryable: false,
            code: errorCodeOf(answer.body) ?? 'precondition_failed',
          });
        }
        if (answer.status !== 200 && answer.status !== 201) throw failure(op, answer);
        return {
          entry: parseAnswer(op, catalogueEntrySchema, answer.body),
          outcome: answer.status === 201 ? 'created' : 'updated',
        };
      }
      for (let attempt = 1; attempt <= upsertAttempts; attempt++) {
        const current = await getCatalogueEntry(entry.employeeId);
        if (current && sameEntry(current, entry)) return { entry: current, outcome: 'unchanged' };
        // Create only if still absent, update only the version we compared against.
        const condition: Record<string, string> = current
          ? { 'if-match': current.etag }
          : { 'if-none-match': '*' };
        const answer = await put(entry, condition);
        if (answer.status === 412) continue;
        if (answer.status !== 200 && answer.status !== 201) throw failure(op, answer);
        return {
          entry: parseAnswer(op, catalogueEntrySchema, answer.body),
          outcome: answer.status === 201 ? 'created' : 'updated',
        };
      }
      // Someone keeps writing the same entry: let the activity retry later rather than spin here.
      throw new PhoneError(
        'conflict',
        `telephony ${op}: entry kept changing during ${upsertAttempts} attempts`,
        {
          status: 412,
          retryable: true,
        },
      );
    },

    async removeCatalogueEntry(employeeId) {
      const op = 'DELETE catalogue entry';
      const answer = await http.request(op, 'DELETE', `/api/v1/catalogue/${enc(employeeId)}`);
      if (answer.status === 204 || answer.status === 200) return 'removed';
      if (answer.status === 404) return 'absent';
      throw failure(op, answer);
    },

    async changesSince(cursor, limit) {
      const op = 'GET number changes';
      const answer = await http.request(op, 'GET', '/api/v1/numbers/changes', {
        query: { since: cursor, limit },
      });
      if (answer.status !== 200) throw failure(op, answer);
      return parseAnswer(op, changesPageSchema, answer.body);
    },

    async close() {
      http.close();
    },
  };
}

function sameEntry(current: CatalogueEntryInput, wanted: CatalogueEntryInput): boolean {
  return (
    current.displayName === wanted.displayName &&
    current.title === wanted.title &&
    current.unit === wanted.unit &&
    current.email === wanted.email
  );
}

function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = body.error;
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = error.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The field names a 422 lists in `details` (docs/telephony-api.md). Names only, never the values
 * or the platform's issue text, and only names that look like field paths.
 */
function errorFieldsOf(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || !('error' in body)) return [];
  const error = body.error;
  if (typeof error !== 'object' || error === null || !('details' in error)) return [];
  const details = error.details;
  if (!Array.isArray(details)) return [];
  const names = details
    .map((d: unknown) => (typeof d === 'object' && d !== null && 'field' in d ? d.field : undefined))
    .filter((f): f is string => typeof f === 'string' && /^[A-Za-z0-9_.()-]{1,64}$/.test(f));
  return [...new Set(names)];
}
