import { caCertPath } from './ca';
import { startGraphSimulator, type GraphSimulator } from './graph-sim';
import type { SkuSeats } from './graph-sim';
import { startPhoneSimulator, type PhoneSimulator } from './phone-sim';

// The Graph and telephony simulators as the sandbox and the tests run them, and the environment
// a worker needs to talk to them (the same connector code as production, over HTTPS).

export const SANDBOX_GRAPH_TOKEN = 'sandbox-graph-token';
export const SANDBOX_PHONE_KEY = 'sandbox-phone-key';

export interface Simulators {
  graph: GraphSimulator;
  phone: PhoneSimulator;
  /** GRAPH_* and PHONE_* variables for a worker (src/config.ts). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface SimulatorOptions {
  graphPort?: number;
  phonePort?: number;
  skus?: SkuSeats[];
  mailboxDelayMs?: number;
}

export async function startSimulators(options: SimulatorOptions = {}): Promise<Simulators> {
  const graph = await startGraphSimulator({
    port: options.graphPort ?? 0,
    token: SANDBOX_GRAPH_TOKEN,
    ...(options.skus ? { skus: options.skus } : {}),
    mailboxDelayMs: options.mailboxDelayMs ?? 0,
  });
  const phone = await startPhoneSimulator({ port: options.phonePort ?? 0, apiKey: SANDBOX_PHONE_KEY });
  return {
    graph,
    phone,
    env: {
      GRAPH_STATIC_TOKEN: SANDBOX_GRAPH_TOKEN,
      GRAPH_BASE_URL: graph.url,
      GRAPH_CA_CERT_PATH: caCertPath(),
      PHONE_BASE_URL: phone.url,
      PHONE_API_KEY: SANDBOX_PHONE_KEY,
      PHONE_CA_CERT: caCertPath(),
    },
    async close() {
      await graph.close();
      await phone.close();
    },
  };
}
