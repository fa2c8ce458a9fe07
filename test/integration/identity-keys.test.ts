import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createIdentityKeys,
  KeyDestroyedError,
  openIdentityKeys,
  UnknownKeyError,
  type IdentityKeys,
} from '../../src/crypto/identity-keys';
import { ensureKekFile, kekFromEnv, localKek } from '../../src/crypto/kek';
import { openPostgresKeyRows } from '../../src/crypto/key-rows-postgres';
import { openSqliteKeyRows } from '../../src/crypto/key-rows-sqlite';
import { openText, sealText } from '../../src/crypto/seal';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';

// Contract B (identity keys) on both backends: the SQLite file beside the index and PostgreSQL
// (a real throwaway server). Every test opens a fresh store; `reopen` is another process's view.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-keys-contract-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const kek = localKek(randomBytes(32));

let pgServer: ThrowawayPostgres;
let databases = 0;
before(async () => (pgServer = await startThrowawayPostgres()));
after(() => pgServer?.stop());

interface Opened {
  keys: IdentityKeys;
  /** The same store, opened again (as another process would), with no cache. */
  reopen: (k?: typeof kek) => IdentityKeys;
  file?: string;
}

const backends: { name: string; open: () => Promise<Opened> }[] = [
  {
    name: 'SQLite',
    open: async () => {
      const file = path.join(dir, `keys-${++databases}.sqlite`);
      const open = (k = kek) => createIdentityKeys(openSqliteKeyRows({ file }), k, { cacheMs: 0 });
      return { keys: createIdentityKeys(openSqliteKeyRows({ file }), kek), reopen: open, file };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const url = await pgServer.createDatabase(`keys_${++databases}`);
      const open = (k = kek) =>
        createIdentityKeys(openPostgresKeyRows({ connectionString: url }), k, { cacheMs: 0 });
      return { keys: createIdentityKeys(openPostgresKeyRows({ connectionString: url }), kek), reopen: open };
    },
  },
];

for (const backend of backends) {
  describe(`identity keys contract: ${backend.name}`, () => {
    const opened: IdentityKeys[] = [];
    const fresh = async () => {
      const o = await backend.open();
      const reopen = (k?: typeof kek) => {
        const again = o.reopen(k);
        opened.push(again);
        return again;
      };
      opened.push(o.keys);
      return { ...o, reopen };
    };
    after(() => Promise.all(opened.map((k) => k.close())));

    it('a data key is made on first use, 256 bits, the same afterwards and in another process', async () => {
      const { keys, reopen } = await fresh();
      const first = await keys.dataKeyFor('E1001');
      assert.equal(first.key.length, 32);
      assert.match(first.keyId, /^[A-Za-z0-9_-]+$/);
      assert.deepEqual(await keys.dataKeyFor('E1001'), first);
      const other = reopen();
      assert.equal((await other.dataKeyFor('E1001')).keyId, first.keyId);
      assert.ok((await other.keyById(first.keyId)).equals(first.key));
    });

    it('each identity has its own key, and the shared key is none of them', async () => {
      const { keys } = await fresh();
      const a = await keys.dataKeyFor('E1001');
      const b = await keys.dataKeyFor('S-77');
      const shared = await keys.sharedKey();
      assert.notEqual(a.keyId, b.keyId);
      assert.ok(!a.key.equals(b.key));
      assert.notEqual(shared.keyId, a.keyId);
      assert.deepEqual(await keys.sharedKey(), shared);
      await assert.rejects(keys.destroy('@shared'), /never destroyed/);
    });

    it('two processes asking for a new identity at once agree on one key', async () => {
      const { reopen } = await fresh();
      const [x, y, z] = await Promise.all([
        reopen().dataKeyFor('E2002'),
        reopen().dataKeyFor('E2002'),
        reopen().dataKeyFor('E2002'),
      ]);
      assert.equal(x.keyId, y.keyId);
      assert.equal(y.keyId, z.keyId);
    });

    it('rotation issues a new current key; text sealed with the old one still opens', async () => {
      const { keys, reopen } = await fresh();
      const old = await keys.dataKeyFor('E1001');
      const sealedOld = await sealText(keys, 'E1001', 'Åsa Öhman');
      const newId = await keys.rotate('E1001');
      assert.notEqual(newId, old.keyId);
      assert.equal((await keys.dataKeyFor('E1001')).keyId, newId);
      assert.equal((await reopen().dataKeyFor('E1001')).keyId, newId);
      const sealedNew = await sealText(keys, 'E1001', 'Åsa Öhman');
      assert.ok(sealedNew.includes(`.${newId}.`));
      assert.equal(await openText(reopen(), sealedOld), 'Åsa Öhman');
      assert.equal(await openText(keys, sealedNew), 'Åsa Öhman');
    });

    it('destroy is irreversible: every key of the identity refuses, here and in another process', async () => {
      const { keys, reopen } = await fresh();
      const first = await keys.dataKeyFor('E1001');
      const sealed = await sealText(keys, 'E1001', 'Veli-Pekka Kärkkäinen');
      const second = await keys.rotate('E1001');
      const bystander = await sealText(keys, 'E1002', 'Maija Meikäläinen');
      assert.equal(await keys.isDestroyed('E1001'), false);

      await keys.destroy('E1001');
      for (const k of [keys, reopen()]) {
        assert.equal(await k.isDestroyed('E1001'), true);
        for (const keyId of [first.keyId, second]) {
          await assert.rejects(k.keyById(keyId), (err: unknown) => {
            assert.ok(err instanceof KeyDestroyedError);
            assert.equal(err.name, 'KeyDestroyed');
            assert.equal(err.identityId, 'E1001');
            assert.equal(err.keyId, keyId);
            return true;
          });
        }
        await assert.rejects(k.dataKeyFor('E1001'), KeyDestroyedError);
        await assert.rejects(k.rotate('E1001'), KeyDestroyedError);
        await assert.rejects(openText(k, sealed), KeyDestroyedError);
        assert.equal(await openText(k, bystander), 'Maija Meikäläinen');
      }
      // Destroying again changes nothing and does not fail.
      await keys.destroy('E1001');
      assert.equal(await reopen().isDestroyed('E1001'), true);
    });

    it('a rehire after destroy is a new generation: reissue gives a new key, the old ones stay destroyed', async () => {
      const { keys, reopen } = await fresh();
      const old = await keys.dataKeyFor('E1001');
      const sealedOld = await sealText(keys, 'E1001', 'Veli-Pekka Kärkkäinen');
      await keys.destroy('E1001');
      const newId = await keys.reissue('E1001');
      assert.notEqual(newId, old.keyId);
      for (const k of [keys, reopen()]) {
        assert.equal(await k.isDestroyed('E1001'), false);
        assert.equal((await k.dataKeyFor('E1001')).keyId, newId);
        await assert.rejects(k.keyById(old.keyId), KeyDestroyedError);
        await assert.rejects(openText(k, sealedOld), KeyDestroyedError);
      }
      assert.equal(await openText(reopen(), await sealText(keys, 'E1001', 'Veli-Pekka')), 'Veli-Pekka');
    });

    it('an identity destroyed before it ever had a key never gets one', async () => {
      const { keys, reopen } = await fresh();
      await keys.destroy('E3003');
      await assert.rejects(reopen().dataKeyFor('E3003'), KeyDestroyedError);
      assert.equal(await keys.isDestroyed('E3003'), true);
      assert.equal(await keys.isDestroyed('E3004'), false);
    });

    it('a key id nobody issued is unknown, not destroyed; sealed text that was altered fails', async () => {
      const { keys } = await fresh();
      await assert.rejects(keys.keyById('kNoSuchKey'), UnknownKeyError);
      const sealed = await sealText(keys, 'E1001', 'Anna-Maija Ääpälä');
      const parts = sealed.split('.');
      const body = Buffer.from(parts[3]!, 'base64url');
      body[0]! ^= 1;
      await assert.rejects(openText(keys, [...parts.slice(0, 3), body.toString('base64url')].join('.')));
      // The key id is authenticated: a value cannot be moved under another key id.
      const other = await keys.dataKeyFor('E1002');
      await assert.rejects(openText(keys, [parts[0], other.keyId, parts[2], parts[3]].join('.')));
    });

    it('keys are stored wrapped: another KEK cannot unwrap them', async () => {
      const { keys, reopen } = await fresh();
      const { keyId } = await keys.dataKeyFor('E1001');
      const stranger = reopen(localKek(randomBytes(32)));
      await assert.rejects(stranger.keyById(keyId), /wrapped by KEK/);
    });

    if (backend.name === 'SQLite') {
      it('the key file is 0600 and never holds a data key in the clear, nor after destroy its wrapping', async () => {
        const { keys, file } = await fresh();
        const { key } = await keys.dataKeyFor('E1001');
        await keys.dataKeyFor('E1002');
        assert.equal(fs.statSync(file!).mode & 0o777, 0o600);
        const bytesOf = () =>
          Buffer.concat(
            [file!, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)),
          );
        assert.equal(bytesOf().indexOf(key), -1, 'the plain data key is in the file');
        const rows = openSqliteKeyRows({ file: file! });
        const row = await rows.key((await keys.dataKeyFor('E1001')).keyId);
        assert.ok(row?.wrapped && bytesOf().indexOf(row.wrapped) >= 0);
        await keys.destroy('E1001');
        assert.equal(bytesOf().indexOf(row.wrapped), -1, 'the wrapped key survived destroy in the file');
        await rows.close();
      });

      it('an existing key file with looser permissions is made 0600 on open', async () => {
        const file = path.join(dir, 'loose.sqlite');
        fs.writeFileSync(file, '');
        fs.chmodSync(file, 0o644);
        const keys = createIdentityKeys(openSqliteKeyRows({ file }), kek);
        await keys.dataKeyFor('E1001');
        await keys.close();
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      });
    }
  });
}

describe('identity keys from the configuration', () => {
  it('openIdentityKeys puts the key file and reads the KEK file beside the index', async () => {
    const state = fs.mkdtempSync(path.join(dir, 'state-'));
    const env = {
      TUNNUS_INDEX_FILE: path.join(state, 'record-index.sqlite'),
      TUNNUS_KEY_CACHE_SECONDS: 30,
    };
    assert.throws(() => openIdentityKeys(env), /TUNNUS_KEK_FILE: cannot read/);
    const kekFile = ensureKekFile(path.join(state, 'kek'));
    assert.equal(fs.statSync(kekFile).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(kekFile).length, 32);
    const before = fs.readFileSync(kekFile);
    ensureKekFile(kekFile); // never replaces an existing KEK
    assert.ok(fs.readFileSync(kekFile).equals(before));

    const keys = openIdentityKeys(env);
    const { keyId } = await keys.dataKeyFor('E1001');
    await keys.close();
    assert.equal(fs.statSync(path.join(state, 'identity-keys.sqlite')).mode & 0o777, 0o600);
    // TUNNUS_KEK (base64) is the same KEK as the file's bytes.
    const viaEnv = openIdentityKeys({ ...env, TUNNUS_KEK: before.toString('base64') });
    assert.equal((await viaEnv.keyById(keyId)).length, 32);
    await viaEnv.close();
    assert.equal(kekFromEnv({ TUNNUS_KEK_FILE: kekFile }).id, localKek(before).id);
    assert.throws(
      () => kekFromEnv({ TUNNUS_KEK_FILE: kekFile, TUNNUS_KEK: 'c2hvcnQ=' }),
      /TUNNUS_KEK: must be 32/,
    );
  });

  it('with RECORD_INDEX_URL the keys live in that PostgreSQL database', async () => {
    const url = await pgServer.createDatabase('keys_env');
    const env = {
      RECORD_INDEX_URL: url,
      TUNNUS_INDEX_FILE: path.join(dir, 'unused', 'record-index.sqlite'),
      TUNNUS_KEK: randomBytes(32).toString('base64'),
      TUNNUS_KEY_CACHE_SECONDS: 0,
    };
    const keys = openIdentityKeys(env);
    const { keyId } = await keys.dataKeyFor('E1001');
    await keys.close();
    const again = openIdentityKeys(env);
    assert.equal((await again.dataKeyFor('E1001')).keyId, keyId);
    await again.close();
    assert.equal(fs.existsSync(path.join(dir, 'unused')), false);
  });
});
