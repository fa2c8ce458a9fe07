import fs from 'node:fs';
import { Writable } from 'node:stream';
import { Connection } from '@temporalio/client';
import pino from 'pino';
import type { GraphState } from '../sandbox/graph-sim/state';
import { buildApi } from '../src/api/server';
import { createTemporalIntake } from '../src/ops/temporal-intake';
import { sha256Hex } from '../src/api/auth';
import { explainCommand } from '../src/cli/explain';
import { connectClient } from '../src/ops/connect';
import type { Env } from '../src/config';
import { createLdapDirectory } from '../src/connectors/ldap/ldap-directory';
import { identityRow } from '../src/domain/identity-row';
import { completeRow } from '../src/domain/managed-identity';
import type { Policy } from '../src/domain/policy';
import type { PersonState } from '../src/domain/person-state';
import { openRecordIndex } from '../src/store/open';
import { indexDates } from '../src/store/record-index';
import {
  buildPeople,
  FIRST_NAMES,
  LAST_NAMES,
  messFor,
  personStateOf,
  type Mess,
  type Person,
} from './people';
import { workflowPollers } from '../test/support/pollers';

// The population of bench/population.ts: who the N identities are, and how each part (Samba, the
// Graph simulator, the read model) is filled consistently with the others.

export interface Population {
  people: Person[];
  identities: number;
  activeNurses: number;
  mess: Mess;
}

export function buildPopulation(n: number, policy: Policy, baseDn: string): Population {
  const mess = messFor(n);
  const people = buildPeople(n, mess, policy, baseDn, {
    idPrefix: 'PP',
    idDigits: 6,
    firstNames: FIRST_NAMES,
    lastNames: LAST_NAMES,
    samLength: 12,
  });
  const activeNurses = people.filter((p) => p.kind === 'active' && p.record?.jobCode === 'SH01').length;
  return { people, identities: n, activeNurses, mess };
}

const UF_NORMAL_ACCOUNT = 0x200;
const UF_ACCOUNTDISABLE = 0x2;
const UF_PASSWD_NOTREQD = 0x20;

/** What bench/samba-fill.py writes: the users (as createAccount writes them) and group members. */
export function fillOf(people: Person[], baseDn: string) {
  const members: Record<string, string[]> = {};
  const users = people.map((p) => {
    const dn = `CN=${p.sam},${p.ouDn}`;
    for (const g of p.groups) (members[`CN=${g},OU=Groups,OU=Tunnus,${baseDn}`] ??= []).push(dn);
    return {
      dn,
      attrs: {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        sAMAccountName: p.sam,
        userPrincipalName: `${p.sam}@kerava.test`,
        employeeID: p.employeeId,
        mail: p.mail,
        // No password: nobody signs in here (UF_PASSWD_NOTREQD), as in bench/plan.ts.
        userAccountControl: String(
          UF_NORMAL_ACCOUNT | UF_PASSWD_NOTREQD | (p.enabled ? 0 : UF_ACCOUNTDISABLE),
        ),
        ...p.attributes,
      },
    };
  });
  return { users, members };
}

interface Dc {
  url: string;
  baseDn: string;
  bindDn: string;
  bindPassword: string;
  caCertPath: string;
}

export async function reserveExpiredNames(dc: Dc, policy: Policy, n: number): Promise<void> {
  const dir = createLdapDirectory(dc);
  try {
    for (let k = 0; k < n; k++) {
      await dir.reserveNames({
        name: `pp-expired-${k}`,
        ouDn: `${policy.ous.retiredNames},${dc.baseDn}`,
        addresses: [`pp-expired-${k}@kerava.fi`],
        until: '2025-01-01',
      });
    }
  } finally {
    await dir.close();
  }
}

/** A cloud user per identity, as its last run left it (fields follow AD; its role's licence). */
export function seedCloud(state: GraphState, people: Person[], policy: Policy): number {
  const skuId = new Map(state.skus.map((s) => [s.skuPartNumber, s.skuId]));
  let n = 0;
  for (const p of people) {
    if (!p.cloudUser) continue;
    const user = state.createUser(
      {
        accountEnabled: p.kind === 'active',
        displayName: p.attributes.displayName,
        givenName: p.attributes.givenName,
        surname: p.attributes.sn,
        jobTitle: p.attributes.title,
        department: p.attributes.department,
        mailNickname: p.sam,
        userPrincipalName: `${p.sam}@kerava.test`,
        employeeId: p.employeeId,
        usageLocation: policy.cloud.usageLocation,
        passwordProfile: { password: 'Bench-Password-1!' },
      },
      { visibleAfterMs: 0 },
    );
    // Straight into the state: assignLicense counts seats over every user (quadratic at 50,000).
    if (p.sku) user.assignedLicenses.push({ skuId: skuId.get(p.sku)!, disabledPlans: [] });
    n++;
  }
  return n;
}

/** The state a person's last run left, with the fields the read model's row is made of. */
function readModelStateOf(p: Person, policy: Policy): PersonState {
  const state = personStateOf(p, policy);
  return {
    ...state,
    records: { hr: p.record! },
    handledVersion: 1,
    ...(p.kind !== 'active' ? { disabledAt: `${p.record!.endDate}T21:00:00.000Z` } : {}),
  };
}

/**
 * The read model's rows, written as the person workflow's recordIdentity writes them
 * (completeRow, then the store's sealed write), and the record index's entries (keyed
 * fingerprints, putMany). Returns the rows written.
 */
export async function writeReadModel(env: Env, people: Person[], policy: Policy): Promise<number> {
  const store = openRecordIndex(env);
  const chain = new Date(Date.now() - 86_400_000).toISOString();
  let written = 0;
  try {
    const identities = people.filter((p) => p.kind !== 'orphan');
    for (let i = 0; i < identities.length; i += 500) {
      const batch = identities.slice(i, i + 500);
      await Promise.all(
        batch.map(async (p) => {
          const row = identityRow(readModelStateOf(p, policy), { chain, version: 2, at: chain });
          if ((await store.identities.write(completeRow(row, policy, undefined))) === 'written') written++;
        }),
      );
      await store.putMany(
        await Promise.all(
          batch.map(async (p) => ({
            employeeId: p.employeeId,
            fingerprint: await store.fingerprint(p.employeeId, p.record!),
            source: 'hr' as const,
            ...indexDates(p.record!),
          })),
        ),
      );
      if ((i / 500) % 20 === 19) process.stderr.write(`[bench-population] read model rows: ${i + 500}\n`);
    }
  } finally {
    await store.close();
  }
  return written;
}

export async function waitForPoller(env: Env, taskQueue: string, pid: number): Promise<void> {
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  try {
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const pollers = await workflowPollers(connection.workflowService, taskQueue, env.TEMPORAL_NAMESPACE);
      if (pollers.some((p) => p.identity?.startsWith(`${pid}@`))) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('worker did not poll within 180 s');
  } finally {
    await connection.close();
  }
}

/** `n` identities spread over the population (deterministic), leavers and movers included. */
export function sampleIds(people: Person[], n: number): string[] {
  const ids = people.filter((p) => p.kind !== 'orphan').map((p) => p.employeeId);
  let seed = 11;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length: n }, () => ids[next() % ids.length]!);
}

const sink = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

function stats(ms: number[], load: string) {
  const sorted = [...ms].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return {
    samples: ms.length,
    p50: Math.round(pct(50)),
    p95: Math.round(pct(95)),
    max: Math.round(sorted[sorted.length - 1]!),
    load,
  };
}

const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** `tunnus explain <id> --json` through the CLI's code, sequentially, after 10 warm-up calls. */
export async function timeExplain(env: Env, ids: string[]) {
  const run = async (id: string) => {
    const code = await explainCommand([id, '--json'], sink(), env);
    if (code !== 0) throw new Error(`tunnus explain ${id} exited ${code}`);
  };
  for (const id of ids.slice(0, 10)) await run(id);
  const load = loadavg();
  const ms: number[] = [];
  for (const id of ids) {
    const t0 = performance.now();
    await run(id);
    ms.push(performance.now() - t0);
  }
  return stats(ms, load);
}

/** GET /api/v1/persons/{id} over HTTP to the real API (buildApi), sequentially, warm. */
export async function timeGet(env: Env, ids: string[]) {
  const client = await connectClient(env);
  const index = openRecordIndex(env);
  const token = 'bench-population-ops-read-token';
  const app = buildApi({
    intake: createTemporalIntake({ client, taskQueue: env.TEMPORAL_TASK_QUEUE }),
    index,
    clients: [{ name: 'bench', tokenSha256: sha256Hex(token), scopes: ['ops:read'] }],
    logger: pino({ level: 'silent' }),
  });
  try {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const get = async (id: string) => {
      const res = await fetch(`${address}/api/v1/persons/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET /api/v1/persons/${id}: ${res.status}`);
    };
    for (const id of ids.slice(0, 10)) await get(id);
    const load = loadavg();
    const ms: number[] = [];
    for (const id of ids) {
      const t0 = performance.now();
      await get(id);
      ms.push(performance.now() - t0);
    }
    return stats(ms, load);
  } finally {
    await app.close();
    await index.close();
    await client.connection.close();
  }
}
