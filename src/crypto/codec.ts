import { randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { gcmCipher, gcmDecipher, IV_BYTES, TAG_BYTES } from './aes-gcm';
import { hasPersonalData, identityOfValue, identityOfWorkflowId } from './attribution';
import { KeyDestroyedError, type DataKey, type IdentityKeys } from './identity-keys';

// The payload codec (docs/privacy.md): every payload Tunnus sends to Temporal is AES-256-GCM
// encrypted — with the data key of the person it belongs to (src/crypto/attribution.ts), or the
// shared key when it belongs to nobody. The whole original payload (metadata and data) is sealed,
// so the server sees only `binary/encrypted`, the key id and the codec version. Destroying a
// person's keys makes every payload of theirs unreadable, in every history and every backup.

export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata: which data key (an opaque id, never the identity) and the codec's format version. */
export const KEY_ID_METADATA = 'encryption-key-id';
export const CODEC_METADATA = 'tunnus-codec';
const CODEC_VERSION = 'tk1';

const { Payload: PayloadMessage } = temporal.api.common.v1;
const utf8 = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : '');

/** A payload's JSON value, when it is JSON (undefined otherwise or when it does not parse). */
function jsonValue(payload: Payload): unknown {
  if (utf8(payload.metadata?.encoding) !== 'json/plain') return undefined;
  try {
    return JSON.parse(utf8(payload.data)) as unknown;
  } catch {
    return undefined;
  }
}

export const isEncrypted = (payload: Payload): boolean =>
  utf8(payload.metadata?.encoding) === ENCRYPTED_ENCODING;

/** The key id an encrypted payload names (for the codec server's log and `KeyDestroyed`). */
export const payloadKeyId = (payload: Payload): string | undefined =>
  isEncrypted(payload) ? utf8(payload.metadata?.[KEY_ID_METADATA]) : undefined;

export interface PayloadCodecOptions {
  /** Called once per payload encoded with a person's key, for tests and metrics. */
  onEncode?: (info: { identityId: string | undefined; keyId: string }) => void;
}

export function createPayloadCodec(keys: IdentityKeys, options: PayloadCodecOptions = {}): PayloadCodec {
  /** The key for a payload: its person's, or the shared one. */
  async function keyFor(payload: Payload, context: SerializationContext | undefined) {
    const value = jsonValue(payload);
    const identityId = identityOfValue(value) ?? identityOfWorkflowId(context?.workflowId);
    if (!identityId) return { identityId, key: await keys.sharedKey() };
    try {
      return { identityId, key: await keys.dataKeyFor(identityId) };
    } catch (err) {
      // After the retention delete a run may still finish with ids and codes (a shred run, a
      // result): no personal data, so the shared key. Personal data of a shredded person: never.
      if (err instanceof KeyDestroyedError && value !== undefined && !hasPersonalData(value)) {
        return { identityId: undefined, key: await keys.sharedKey() };
      }
      throw err;
    }
  }

  return {
    async encode(payloads, context) {
      return Promise.all(
        payloads.map(async (payload) => {
          if (isEncrypted(payload)) return payload;
          const { identityId, key } = await keyFor(payload, context);
          options.onEncode?.({ identityId, keyId: key.keyId });
          return encryptPayload(payload, key);
        }),
      );
    },
    async decode(payloads) {
      // Payloads written before the codec (recorded histories, older runs) pass through as they are.
      return Promise.all(
        payloads.map(async (payload) => (isEncrypted(payload) ? decryptPayload(payload, keys) : payload)),
      );
    },
  };
}

function encryptPayload(payload: Payload, { keyId, key }: DataKey): Payload {
  const plain = PayloadMessage.encode(payload).finish();
  const iv = randomBytes(IV_BYTES);
  const cipher = gcmCipher(key, iv, Buffer.from(`${CODEC_VERSION}.${keyId}`));
  const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return {
    metadata: {
      encoding: Buffer.from(ENCRYPTED_ENCODING),
      [KEY_ID_METADATA]: Buffer.from(keyId),
      [CODEC_METADATA]: Buffer.from(CODEC_VERSION),
    },
    data,
  };
}

/** Throws KeyDestroyedError (the person was shredded) or a decryption error (tampered). */
async function decryptPayload(payload: Payload, keys: IdentityKeys): Promise<Payload> {
  const keyId = payloadKeyId(payload);
  const version = utf8(payload.metadata?.[CODEC_METADATA]);
  if (!keyId || version !== CODEC_VERSION) throw new Error(`unknown encrypted payload format ${version}`);
  const key = await keys.keyById(keyId);
  const data = Buffer.from(payload.data ?? new Uint8Array());
  const decipher = gcmDecipher(key, data.subarray(0, IV_BYTES), Buffer.from(`${CODEC_VERSION}.${keyId}`));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  const plain = Buffer.concat([
    decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
    decipher.final(),
  ]);
  const decoded = PayloadMessage.decode(plain);
  return { metadata: decoded.metadata, data: decoded.data };
}
