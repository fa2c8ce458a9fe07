import type { Payload, PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

// Every payload of a workflow history, found by walking the events (whatever their type), with
// where it sits and which workflow owns it — the workflow id the SDK hands the payload codec as
// its serialization context: the child's for a child's input and result, else the history's own.

type History = temporal.api.history.v1.IHistory;

export interface HistoryPayload {
  /** Event type attribute and field path, e.g. `activityTaskScheduledEventAttributes.input.payloads[0]`. */
  where: string;
  /** The workflow the payload belongs to (the codec's serialization context). */
  ownerWorkflowId: string;
  payload: Payload;
  /** Search attribute values are not payloads the codec sees: checked apart. */
  kind: 'payload' | 'searchAttribute' | 'memo';
}

/** A failure message or stack kept as plain text in history (failures before the converter). */
export interface HistoryText {
  where: string;
  ownerWorkflowId: string;
  text: string;
}

const isPayload = (v: unknown): v is Payload => {
  const m = (v as { metadata?: unknown } | null)?.metadata;
  return typeof m === 'object' && m !== null && 'encoding' in m;
};

/** The workflow a history event's payloads belong to. */
function ownerOf(attributes: Record<string, unknown>, own: string): string {
  const id =
    attributes.workflowId ??
    (attributes.workflowExecution as { workflowId?: unknown } | undefined)?.workflowId;
  return typeof id === 'string' && id !== '' ? id : own;
}

export function historyPayloads(
  history: History,
  workflowId: string,
): { payloads: HistoryPayload[]; texts: HistoryText[] } {
  const payloads: HistoryPayload[] = [];
  const texts: HistoryText[] = [];
  for (const event of history.events ?? []) {
    const entries = Object.entries(event).filter(
      ([key, v]) =>
        (key.endsWith('Attributes') || key === 'userMetadata') && typeof v === 'object' && v !== null,
    );
    const attrs = entries.find(([key]) => key.endsWith('Attributes'))?.[1] as
      Record<string, unknown> | undefined;
    // A child's summary is the child's, like its input (the SDK's codec context says so too).
    const owner = attrs ? ownerOf(attrs, workflowId) : workflowId;
    for (const [key, attributes] of entries) {
      const walk = (v: unknown, where: string, kind: HistoryPayload['kind']) => {
        if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return;
        if (isPayload(v)) {
          payloads.push({ where, ownerWorkflowId: owner, payload: v, kind });
          return;
        }
        if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${where}[${i}]`, kind));
        for (const [k, x] of Object.entries(v)) {
          if ((k === 'message' || k === 'stackTrace') && typeof x === 'string' && x !== '') {
            texts.push({ where: `${where}.${k}`, ownerWorkflowId: owner, text: x });
          }
          const next = k === 'searchAttributes' ? 'searchAttribute' : k === 'memo' ? 'memo' : kind;
          walk(x, `${where}.${k}`, next);
        }
      };
      walk(attributes, key, 'payload');
    }
  }
  return { payloads, texts };
}

export const payloadText = (p: Payload): string => (p.data ? Buffer.from(p.data).toString('utf8') : '');

export const payloadEncoding = (p: Payload): string =>
  p.metadata?.encoding ? Buffer.from(p.metadata.encoding).toString('utf8') : '';

/** The JSON value of a plain payload (undefined for binary/null, encrypted, or not JSON). */
export function payloadJson(p: Payload): unknown {
  if (payloadEncoding(p) !== 'json/plain') return undefined;
  try {
    return JSON.parse(payloadText(p)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Decodes every encrypted payload of a history in place with the codec (plain ones stay): what
 * the recorder saves (recorded histories are plaintext, replayable without the keys) and what a
 * test reads "with the codec".
 */
export async function decodeHistory<H extends History>(history: H, codec: PayloadCodec): Promise<H> {
  for (const { payload } of historyPayloads(history, '').payloads) {
    const [decoded] = await codec.decode([payload]);
    if (decoded === payload || !decoded) continue;
    const target = payload as { metadata?: unknown; data?: unknown };
    target.metadata = decoded.metadata;
    target.data = decoded.data;
  }
  return history;
}
