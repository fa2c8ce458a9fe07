import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { CliError } from '../../src/cli/errors';
import { ensureListening } from '../../src/cli/reachability';

// The probe every Temporal command makes before it loads the SDK (src/cli/reachability.ts).

const settings = (address: string) => ({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default' });
const noProxy = {};

async function withServer(fn: (address: string) => Promise<void>): Promise<void> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

async function closedPort(): Promise<string> {
  let address = '';
  await withServer(async (a) => {
    address = a;
  });
  return address;
}

describe('ensureListening', () => {
  it('resolves when something accepts the connection', async () => {
    await withServer((address) => ensureListening(settings(address), 2_000, noProxy));
  });

  it('when nothing listens, rejects at once naming the address and TEMPORAL_ADDRESS', async () => {
    const address = await closedPort();
    const started = Date.now();
    await assert.rejects(ensureListening(settings(address), 2_000, noProxy), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.equal(err.code, 'temporal_unreachable');
      assert.match(err.message, new RegExp(`${address}.*ECONNREFUSED.*TEMPORAL_ADDRESS`));
      return true;
    });
    assert.ok(Date.now() - started < 1_000, 'refused, not timed out');
  });

  it('with a gRPC proxy configured it does not probe: the direct route may be closed', async () => {
    const address = await closedPort();
    await ensureListening(settings(address), 2_000, { https_proxy: 'http://proxy.example:3128' });
  });

  it('an address that is not host:port is left to the SDK', async () => {
    await ensureListening(settings('dns:///temporal.example:7233'), 2_000, noProxy);
  });
});
