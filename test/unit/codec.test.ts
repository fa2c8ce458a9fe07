import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  decodeOptionalFailureToOptionalError,
  encodeErrorToFailure,
  loadDataConverter,
} from '@temporalio/common/lib/internal-non-workflow';
import {
  createPayloadCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  payloadKeyId,
} from '../../src/crypto/codec';
import { tunnusDataConverter } from '../../src/crypto/data-converter';
import { KeyDestroyedError } from '../../src/crypto/identity-keys';
import { throwawayIdentityKeys } from '../support/keys';

// The payload codec against a real key store (SQLite in memory): who's key encrypts what, what
// the server sees, and what happens once a person's keys are destroyed.

const record = {
  employeeId: 'E1001',
  firstNames: 'Aurora Ilmatar',
  lastName: 'Kyllönen-Vääräniemi',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-110',
  employmentType: 'permanent',
  startDate: '2026-03-01',
};
const toPayload = (v: unknown) => defaultPayloadConverter.toPayload(v);
const fromPayload = (p: Payload) => defaultPayloadConverter.fromPayload(p);
const text = (p: Payload) =>
  Buffer.concat([Buffer.from(p.data ?? []), ...Object.values(p.metadata ?? {})]).toString('latin1');
const person = { type: 'workflow' as const, namespace: 'default', workflowId: 'person-E1001' };

describe('payload codec', () => {
  it('a record is sealed with its person key: no name on the wire, the key id in the metadata', async () => {
    const keys = throwawayIdentityKeys();
    const codec = createPayloadCodec(keys);
    const [sealed] = await codec.encode([toPayload({ record, source: 'hr' })]);
    assert.equal(Buffer.from(sealed!.metadata!.encoding!).toString(), ENCRYPTED_ENCODING);
    assert.equal(payloadKeyId(sealed!), (await keys.dataKeyFor('E1001')).keyId);
    assert.doesNotMatch(text(sealed!), /Aurora|Kyll|E1001|SH01/);
    const [opened] = await codec.decode([sealed!]);
    assert.deepEqual(fromPayload(opened!), { record, source: 'hr' });
  });

  it('attributes by the value first, then by the workflow the payload belongs to, else shared', async () => {
    const keys = throwawayIdentityKeys();
    const seen: (string | undefined)[] = [];
    const codec = createPayloadCodec(keys, { onEncode: ({ identityId }) => seen.push(identityId) });
    await codec.encode([toPayload({ employeeId: 'e2002', groups: ['ERP-Nurse'] })], person);
    await codec.encode([
      toPayload({ record: { studentId: 'r77', firstNames: 'Oppi' }, source: 'education' }),
    ]);
    await codec.encode([toPayload('waiting for start date 2026-12-07')], person);
    await codec.encode([toPayload(true)], { ...person, workflowId: 'joiner-RX-DELETE-3' });
    await codec.encode([toPayload({ total: 20, changed: 5 })], { ...person, workflowId: 'import-hr-1' });
    await codec.encode([toPayload({ a: { employeeId: 'E1' }, b: { employeeId: 'E2' } })]);
    assert.deepEqual(seen, ['E2002', 'S-R77', 'E1001', 'RX-DELETE', undefined, undefined]);
    const [shared] = await codec.encode([toPayload({ total: 20 })]);
    assert.equal(payloadKeyId(shared!), (await keys.sharedKey()).keyId);
  });

  it('payloads written before the codec decode as they are (recorded histories replay)', async () => {
    const codec = createPayloadCodec(throwawayIdentityKeys());
    const plain = toPayload({ record });
    const [same] = await codec.decode([plain]);
    assert.deepEqual(fromPayload(same!), { record });
    const nothing = toPayload(undefined);
    const [sealedNothing] = await codec.encode([nothing]);
    assert.equal(fromPayload((await codec.decode([sealedNothing!]))[0]!), undefined);
  });

  it('a changed ciphertext or a key id moved to another key fails to decode', async () => {
    const keys = throwawayIdentityKeys();
    const codec = createPayloadCodec(keys);
    const [sealed] = await codec.encode([toPayload({ record })]);
    const data = Buffer.from(sealed!.data!);
    data[20]! ^= 1;
    await assert.rejects(codec.decode([{ ...sealed!, data }]));
    const other = (await keys.dataKeyFor('E9999')).keyId;
    const moved = { ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID_METADATA]: Buffer.from(other) } };
    await assert.rejects(codec.decode([moved]));
  });

  it('after the destroy: decoding says KeyDestroyed; ids alone still encode (shared), personal data never', async () => {
    const keys = throwawayIdentityKeys();
    const codec = createPayloadCodec(keys);
    const [sealed] = await codec.encode([toPayload({ record, source: 'hr' })]);
    const [idsOnly] = await codec.encode([toPayload({ employeeId: 'E1001', status: 'deleted' })]);
    await keys.destroy('E1001');
    await assert.rejects(codec.decode([sealed!]), (err: unknown) => {
      assert.ok(err instanceof KeyDestroyedError);
      assert.equal(err.identityId, 'E1001');
      return true;
    });
    await assert.rejects(codec.decode([idsOnly!]), KeyDestroyedError);
    const [after] = await codec.encode([toPayload({ employeeId: 'E1001', phase: 'deleted' })], person);
    assert.equal(payloadKeyId(after!), (await keys.sharedKey()).keyId);
    await assert.rejects(codec.encode([toPayload({ record })]), KeyDestroyedError);
  });

  it('failure messages and stacks travel encrypted, and decode back', async () => {
    const keys = throwawayIdentityKeys();
    const converter = loadDataConverter(tunnusDataConverter(keys));
    const error = ApplicationFailure.create({
      type: 'DirectoryConstraint',
      message: 'attribute title refused',
    });
    const failure = await encodeErrorToFailure(converter, error, person);
    assert.equal(failure.message, 'Encoded failure');
    assert.equal(failure.stackTrace, '');
    assert.equal(Buffer.from(failure.encodedAttributes!.metadata!.encoding!).toString(), ENCRYPTED_ENCODING);
    assert.doesNotMatch(text(failure.encodedAttributes!), /attribute title/);
    assert.equal(payloadKeyId(failure.encodedAttributes!), (await keys.dataKeyFor('E1001')).keyId);
    const back = await decodeOptionalFailureToOptionalError(converter, failure);
    assert.equal(back?.message, 'attribute title refused');
  });
});
