import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { searchAttributeDefinitions } from '../../src/workflows/messages';

// Checks docker-compose.yml and the Dockerfile against the code, without Docker: variable names a
// Tunnus service receives must be names its program reads, every interpolation must have a default
// or a required-message, long-running services need health checks, images are pinned to exact
// patch releases, services built from the repo are hardened, ports are published on loopback by
// default, the API's health check asks a route the API has, and so on. Then the operating choices
// docs/operations.md explains: Temporal server and tools at one version, a fixed history shard
// count, the worker's readiness check on its metrics port, worker replicas, and the backup loop.
//
// The allowed variables come from the zod env schemas: src/config.ts (every program), plus for
// the API its part of that file (apiEnvSchema) and the names src/api/auth.ts reads. The schemas
// are not exported (and this test adds no export), so the keys are extracted from the source text
// of the `const envSchema = z.object({ ... })` block with a regex (`NAME: z.`).

const ROOT = path.resolve(__dirname, '..', '..');
const readRepoFile = (rel: string): string | undefined => {
  const file = path.join(ROOT, rel);
  return fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : undefined;
};
const repoPathExists = (rel: string): boolean => fs.existsSync(path.join(ROOT, rel));

export function envSchemaKeys(configSource: string, schema = 'envSchema'): Set<string> {
  const marker = `const ${schema} = z.object({`;
  const start = configSource.indexOf(marker);
  if (start < 0) throw new Error(`\`${marker}\` not found`);
  const end = configSource.indexOf('\n});', start);
  const block = configSource.slice(start, end < 0 ? undefined : end);
  return new Set([...block.matchAll(/^\s*([A-Z][A-Z0-9_]*):\s*z\b/gm)].map((m) => m[1]!));
}

/** Names a module reads as `env.NAME` or `process.env.NAME`. */
export function envReads(source: string): Set<string> {
  return new Set([...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)].map((m) => m[1]!));
}

/** The program a Tunnus container runs (its entry file) → the variables that program reads. */
export type ProgramEnv = Readonly<Record<string, ReadonlySet<string>>>;

interface Repo {
  exists(rel: string): boolean;
  read(rel: string): string | undefined;
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A YAML scalar as text; anything else (a mapping, a list, null) as ''. */
const scalar = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

/** Placeholder for a `${VAR:?msg}` value, which cannot be known until deploy time. */
const REQUIRED = '\u0000required:';

const REF = /\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?|:\+|\+)([\s\S]*))?$/;

/** Problems with the `${...}` references in one string (`$$` is Compose's escape for a literal `$`). */
function interpolationProblems(value: string, where: string): string[] {
  const problems: string[] = [];
  for (const m of value.replaceAll('$$', '').matchAll(REF)) {
    if (m[2] !== undefined) {
      problems.push(`${where}: $${m[2]} has no default; write \${${m[2]}:-default} or \${${m[2]}:?message}`);
      continue;
    }
    const parsed = BRACED.exec(m[1]!);
    if (!parsed) {
      problems.push(`${where}: cannot parse \${${m[1]}}`);
      continue;
    }
    const [, name, op, arg] = parsed;
    if (op === undefined)
      problems.push(`${where}: \${${name}} has neither a default (:-) nor a message (:?)`);
    else if ((op === ':?' || op === '?') && !arg?.trim())
      problems.push(`${where}: \${${name}${op}} has no message`);
    else if (op === ':+' || op === '+')
      problems.push(`${where}: \${${name}${op}...} is empty when ${name} is unset`);
  }
  return problems;
}

/** The value Compose would use with an empty environment (required values become placeholders). */
function withDefaults(value: string): string {
  return value
    .replaceAll('$$', '\u0001')
    .replace(REF, (_all, braced: string | undefined) => {
      const parsed = braced === undefined ? null : BRACED.exec(braced);
      if (!parsed) return '';
      const [, name, op, arg] = parsed;
      if (op === ':-' || op === '-') return arg ?? '';
      if (op === ':?' || op === '?') return `${REQUIRED}${name}`;
      return '';
    })
    .replaceAll('\u0001', '$');
}

function walkStrings(node: unknown, where: string, visit: (value: string, where: string) => void): void {
  if (typeof node === 'string') visit(node, where);
  else if (Array.isArray(node)) node.forEach((item, i) => walkStrings(item, `${where}[${i}]`, visit));
  else if (isDict(node)) for (const [k, v] of Object.entries(node)) walkStrings(v, `${where}.${k}`, visit);
}

function environmentOf(service: Dict): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  const raw = service.environment;
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const [key, ...rest] = String(entry).split('=');
      env.set(key!, rest.length > 0 ? rest.join('=') : undefined);
    }
  } else if (isDict(raw)) {
    for (const [key, value] of Object.entries(raw)) env.set(key, value == null ? undefined : scalar(value));
  }
  return env;
}

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  bind: boolean;
}

function mountsOf(service: Dict): Mount[] {
  const volumes = Array.isArray(service.volumes) ? service.volumes : [];
  return volumes.map((v): Mount => {
    if (isDict(v)) {
      return {
        source: scalar(v.source),
        target: scalar(v.target),
        readOnly: v.read_only === true,
        bind: v.type === 'bind',
      };
    }
    const [source = '', target = '', mode = ''] = String(v).split(':');
    return {
      source,
      target,
      readOnly: mode.split(',').includes('ro'),
      bind: /^[./~]/.test(source) || source.startsWith('$'),
    };
  });
}

function imageProblem(image: string): string | undefined {
  if (image.includes(REQUIRED)) return 'its tag depends on a required variable';
  if (image.includes('@sha256:')) return undefined;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon < 0) return 'has no tag';
  const tag = lastSegment.slice(colon + 1);
  if (tag === '' || tag === 'latest') return `uses the floating tag "${tag || '(empty)'}"`;
  const version = /^v?(\d+(?:\.\d+)*)(?:-[\w.]+)?$/.exec(tag)?.[1];
  const parts = exactVersionParts(image.slice(0, image.length - tag.length - 1));
  if (version === undefined || version.split('.').length !== parts)
    return `is not pinned to an exact patch release (${parts === 2 ? 'MAJOR.MINOR' : 'X.Y.Z'})`;
  return undefined;
}

/**
 * How many numbers an exact release has: PostgreSQL's minor release is its patch level since 10
 * (16.15 is exact, 16 floats); everything else here numbers releases X.Y.Z.
 */
const exactVersionParts = (repository: string): number => (/(^|\/)postgres$/.test(repository) ? 2 : 3);

const normalise = (p: string): string => path.posix.normalize(p.replace(/^\.\//, '')).replace(/\/$/, '');

/** Checks a Dockerfile's final stage: CMD/ENTRYPOINT must name files that exist and are copied in. */
export function checkDockerfile(text: string, repo: Repo, where = 'Dockerfile'): string[] {
  const stage = finalStage(text);
  if (stage.length === 0) return [`${where}: no FROM`];
  const args = dockerfileCommand(stage);
  if (args.length === 0) return [`${where}: the final stage has no CMD or ENTRYPOINT`];
  if (repoFiles(args).length === 0)
    return [`${where}: CMD/ENTRYPOINT (${args.join(' ')}) names no file from the repo`];
  return imageFileProblems(repoFiles(args), stage, repo, `${where}: CMD/ENTRYPOINT`);
}

/** ENTRYPOINT and CMD arguments of a final stage, in that order (exec or shell form). */
function dockerfileCommand(stage: readonly string[]): string[] {
  const last = (kind: string) => stage.filter((l) => new RegExp(`^${kind}\\s`, 'i').test(l)).pop();
  return [last('ENTRYPOINT'), last('CMD')]
    .filter((l): l is string => l !== undefined)
    .flatMap((l) => {
      const rest = l.replace(/^\S+\s+/, '');
      try {
        const parsed: unknown = JSON.parse(rest);
        if (Array.isArray(parsed)) return parsed.map(String);
      } catch {
        // shell form
      }
      return rest.split(/\s+/);
    });
}

/** The arguments of a command that name files from the repo (relative paths, scripts). */
const repoFiles = (args: readonly string[]): string[] =>
  args.filter(
    (a) => !a.startsWith('-') && !a.startsWith('/') && (/\.(ts|js|mjs|cjs)$/.test(a) || a.includes('/')),
  );

/** The final stage of a Dockerfile, as logical lines without comments. */
function finalStage(text: string): string[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  let lastFrom = -1;
  lines.forEach((l, i) => {
    if (/^FROM\s/i.test(l)) lastFrom = i;
  });
  return lastFrom < 0 ? [] : lines.slice(lastFrom);
}

/** Files a command names must exist, be COPYed into the final stage and not be .dockerignored. */
function imageFileProblems(
  files: readonly string[],
  stage: readonly string[],
  repo: Repo,
  where: string,
): string[] {
  const copied = stage
    .filter((l) => /^COPY\s/i.test(l) && !/--from=/i.test(l))
    .flatMap((l) =>
      l
        .split(/\s+/)
        .slice(1)
        .filter((a) => !a.startsWith('--'))
        .slice(0, -1),
    )
    .map(normalise);
  const ignored = (repo.read('.dockerignore') ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!') && !/[*?[]/.test(l))
    .map(normalise);
  const problems: string[] = [];
  for (const file of files.map(normalise)) {
    const within = (dir: string) => dir === '.' || file === dir || file.startsWith(`${dir}/`);
    if (!repo.exists(file)) problems.push(`${where} names ${file}, which does not exist in the repo`);
    else if (!copied.some(within)) problems.push(`${where}: ${file} is never COPYed into the final stage`);
    else if (ignored.some(within)) problems.push(`${where}: ${file} is excluded by .dockerignore`);
  }
  return problems;
}

/** A service's command or entrypoint as arguments (exec form, or shell form split on spaces). */
function argsOf(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map((v) => scalar(v));
  if (typeof value === 'string') return value.trim().split(/\s+/);
  return undefined;
}

/** The host IP a `ports` entry publishes on, defaults applied ('' when it names none: all interfaces). */
function publishedHostIp(entry: unknown): string {
  if (isDict(entry)) return withDefaults(scalar(entry.host_ip));
  const value = withDefaults(scalar(entry));
  const bracketed = /^\[([^\]]*)\]:/.exec(value);
  if (bracketed) return bracketed[1]!;
  const parts = value.split(':');
  return parts.length >= 3 ? parts[0]! : '';
}

/** The container port of a `ports` entry. */
function publishedTarget(entry: unknown): string {
  if (isDict(entry)) return scalar(entry.target);
  return (withDefaults(scalar(entry)).split(':').pop() ?? '').replace(/\/(tcp|udp)$/, '');
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Every problem found in a compose file; empty when it passes. */
export function checkCompose(text: string, repo: Repo, programs: ProgramEnv): string[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return [`not valid YAML: ${(err as Error).message}`];
  }
  if (!isDict(doc) || !isDict(doc.services)) return ['no services'];
  const services = doc.services as Record<string, unknown>;
  const problems: string[] = [];

  walkStrings(doc, '', (value, where) => problems.push(...interpolationProblems(value, where.slice(1))));

  const oneShot = new Set<string>();
  for (const service of Object.values(services)) {
    if (!isDict(service) || !isDict(service.depends_on)) continue;
    for (const [target, spec] of Object.entries(service.depends_on)) {
      if (isDict(spec) && spec.condition === 'service_completed_successfully') oneShot.add(target);
    }
  }

  for (const [name, raw] of Object.entries(services)) {
    const where = `services.${name}`;
    if (!isDict(raw)) {
      problems.push(`${where}: not a mapping`);
      continue;
    }
    const service = raw;

    // Image pinned, or built from a context that has a Dockerfile.
    const build: unknown = service.build;
    let dockerfileText: string | undefined;
    if (build !== undefined) {
      const context = withDefaults((isDict(build) ? scalar(build.context) : scalar(build)) || '.');
      const dockerfile = withDefaults((isDict(build) && scalar(build.dockerfile)) || 'Dockerfile');
      const rel = normalise(path.posix.join(context, dockerfile));
      dockerfileText = repo.read(rel);
      if (dockerfileText === undefined) problems.push(`${where}.build: ${rel} does not exist`);
      else problems.push(...checkDockerfile(dockerfileText, repo, rel));
    } else if (typeof service.image !== 'string') {
      problems.push(`${where}: neither image nor build`);
    }
    if (typeof service.image === 'string') {
      const problem = imageProblem(withDefaults(service.image));
      if (problem) problems.push(`${where}.image ${service.image} ${problem}`);
    }

    // Services built from this repo run Tunnus code: they get only the names their program reads.
    const env = environmentOf(service);
    const mounts = mountsOf(service);
    const runsTunnus = build !== undefined;
    if (runsTunnus) {
      const stage = dockerfileText === undefined ? [] : finalStage(dockerfileText);
      // `command` replaces the image's CMD, `entrypoint` its ENTRYPOINT (and then its CMD too).
      const entrypoint = argsOf(service.entrypoint);
      const command = argsOf(service.command);
      const args =
        entrypoint === undefined && command === undefined
          ? dockerfileCommand(stage)
          : [...(entrypoint ?? []), ...(command ?? [])];
      if (entrypoint !== undefined || command !== undefined)
        problems.push(...imageFileProblems(repoFiles(args), stage, repo, `${where}.command`));
      const program = args.map(normalise).find((a) => a in programs);
      const allowed = program === undefined ? undefined : programs[program];
      if (allowed === undefined)
        problems.push(`${where}: runs ${args.join(' ')}, not a program whose variables this test knows`);

      if (service.env_file !== undefined)
        problems.push(`${where}.env_file: its keys cannot be checked; list them`);
      for (const [key, value] of env) {
        if (allowed && !allowed.has(key))
          problems.push(`${where}.environment.${key}: ${program} reads no such variable`);
        // A path handed to the code must be something mounted read-only into the container.
        if (value?.startsWith('/') && !mounts.some((m) => m.target === value && m.readOnly)) {
          problems.push(`${where}.environment.${key}: ${value} is not a read-only mount of this service`);
        }
      }

      // Hardening: Tunnus holds directory and tenant credentials; its containers get nothing extra.
      if (service.read_only !== true) problems.push(`${where}: read_only root file system is not set`);
      const capDrop = Array.isArray(service.cap_drop) ? service.cap_drop.map(scalar) : [];
      if (!capDrop.includes('ALL')) problems.push(`${where}: cap_drop does not drop ALL`);
      if (service.cap_add !== undefined) problems.push(`${where}: cap_add gives capabilities back`);
      const securityOpt = Array.isArray(service.security_opt) ? service.security_opt.map(scalar) : [];
      if (!securityOpt.some((o) => /^no-new-privileges(:true)?$/.test(o)))
        problems.push(`${where}: security_opt lacks no-new-privileges:true`);
      if (service.privileged === true) problems.push(`${where}: privileged`);
      if (['root', '0'].includes(scalar(service.user).split(':')[0]!))
        problems.push(`${where}: runs as root`);

      if (program === 'src/api/main.ts') problems.push(...apiServiceProblems(service, env, where, repo));
    }

    // Published ports: loopback unless the operator says otherwise (nothing here has TLS).
    const ports = Array.isArray(service.ports) ? (service.ports as unknown[]) : [];
    for (const entry of ports) {
      const ip = publishedHostIp(entry);
      if (!LOOPBACK.has(ip))
        problems.push(
          `${where}.ports: ${scalar(entry) || 'entry'} is published on ${ip || 'every interface'} by default`,
        );
    }

    // A one-shot job's script, run from a mounted directory of the repo, must exist there.
    for (const arg of [...(argsOf(service.entrypoint) ?? []), ...(argsOf(service.command) ?? [])]) {
      const mount = mounts.find((m) => m.bind && arg.startsWith(`${m.target}/`));
      const source = mount && withDefaults(mount.source);
      if (!mount || !source || source.includes(REQUIRED) || source.startsWith('/')) continue;
      const file = normalise(path.posix.join(source, arg.slice(mount.target.length + 1)));
      if (!repo.exists(file)) problems.push(`${where}: runs ${arg}, but ${file} does not exist in the repo`);
    }

    // Host files mounted from the repo must exist (a required host path is checked at deploy time).
    for (const mount of mounts) {
      const source = withDefaults(mount.source);
      if (
        mount.bind &&
        !source.includes(REQUIRED) &&
        !source.startsWith('/') &&
        !repo.exists(normalise(source))
      ) {
        problems.push(`${where}.volumes: ${mount.source} does not exist in the repo`);
      }
    }

    // Long-running services: health check and restart policy.
    if (!oneShot.has(name)) {
      const hc = service.healthcheck;
      const test: unknown = isDict(hc) ? hc.test : undefined;
      const disabled =
        !isDict(hc) ||
        hc.disable === true ||
        test === undefined ||
        (Array.isArray(test) && test[0] === 'NONE');
      if (disabled) problems.push(`${where}: long-running service without a healthcheck`);
      if (
        !['always', 'unless-stopped'].includes(String(service.restart)) &&
        !/^on-failure/.test(String(service.restart))
      ) {
        problems.push(`${where}: long-running service without a restart policy`);
      }
    }

    // depends_on: targets exist, and readiness is stated.
    const deps: unknown = service.depends_on;
    if (Array.isArray(deps)) {
      problems.push(`${where}.depends_on: use the long form with a condition`);
      for (const target of deps) {
        if (!(String(target) in services)) problems.push(`${where}.depends_on: no service ${String(target)}`);
      }
    } else if (isDict(deps)) {
      for (const [target, spec] of Object.entries(deps)) {
        if (!(target in services)) {
          problems.push(`${where}.depends_on: no service ${target}`);
          continue;
        }
        const condition = isDict(spec) ? spec.condition : undefined;
        const targetService = services[target];
        if (
          condition === 'service_healthy' &&
          !(isDict(targetService) && isDict(targetService.healthcheck))
        ) {
          problems.push(`${where}.depends_on.${target}: service_healthy, but ${target} has no healthcheck`);
        } else if (condition !== 'service_healthy' && condition !== 'service_completed_successfully') {
          problems.push(
            `${where}.depends_on.${target}: wait for service_healthy or service_completed_successfully`,
          );
        }
      }
    }
  }
  problems.push(...recordIndexProblems(services));
  return problems;
}

/**
 * The API in a container: it listens on every interface of the container when its port is
 * published, the published container port is API_PORT, and its health check requests a route
 * src/api/routes/health.ts defines, on that port.
 */
function apiServiceProblems(service: Dict, env: Map<string, string | undefined>, where: string, repo: Repo) {
  const problems: string[] = [];
  const host = withDefaults(env.get('API_HOST') ?? '127.0.0.1');
  const port = withDefaults(env.get('API_PORT') ?? '8080');
  const ports = Array.isArray(service.ports) ? (service.ports as unknown[]) : [];
  if (ports.length > 0 && LOOPBACK.has(host))
    problems.push(`${where}.environment.API_HOST: ${host} cannot be reached through the published port`);
  for (const entry of ports) {
    if (publishedTarget(entry) !== port)
      problems.push(`${where}.ports: ${scalar(entry)} does not publish API_PORT ${port}`);
  }
  const hc = service.healthcheck;
  const test = isDict(hc) ? (argsOf(hc.test) ?? []).join(' ') : '';
  const url = /https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):(\d+)(\/[\w./-]*)/.exec(test);
  if (!url) {
    problems.push(`${where}.healthcheck: does not request the API over HTTP on the loopback interface`);
    return problems;
  }
  if (url[1] !== port) problems.push(`${where}.healthcheck: asks port ${url[1]}, but API_PORT is ${port}`);
  const routes = repo.read('src/api/routes/health.ts') ?? '';
  if (!routes.includes(`'${url[2]}'`))
    problems.push(`${where}.healthcheck: ${url[2]} is not a route of src/api/routes/health.ts`);
  return problems;
}

/**
 * Every Tunnus service uses the same record index (the API stages import rows the worker reads), on
 * PostgreSQL in a service of this file, and waits for a one-shot job that creates its database.
 */
function recordIndexProblems(services: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const tunnus = Object.entries(services).filter(
    (e): e is [string, Dict] => isDict(e[1]) && e[1].build !== undefined,
  );
  const urls = new Map(tunnus.map(([name, s]) => [name, environmentOf(s).get('RECORD_INDEX_URL')]));
  if ([...urls.values()].every((u) => u === undefined)) return problems;
  if (new Set(urls.values()).size > 1) {
    const list = [...urls].map(([name, url]) => `${name}: ${url ?? '(unset)'}`).join('; ');
    problems.push(`RECORD_INDEX_URL differs between the Tunnus services (${list})`);
  }
  for (const [name, url] of urls) {
    if (url === undefined) continue;
    let host = '';
    try {
      const parsed = new URL(withDefaults(url).replaceAll(REQUIRED, 'required-'));
      if (!/^postgres(ql)?:$/.test(parsed.protocol))
        problems.push(`services.${name}.environment.RECORD_INDEX_URL: not a postgres:// URL`);
      host = parsed.hostname;
    } catch {
      problems.push(`services.${name}.environment.RECORD_INDEX_URL: not a URL`);
      continue;
    }
    if (!(host in services)) {
      problems.push(`services.${name}.environment.RECORD_INDEX_URL: ${host} is not a service of this file`);
      continue;
    }
    const self = services[name];
    const deps = isDict(self) ? self.depends_on : undefined;
    const jobs = isDict(deps)
      ? Object.entries(deps).filter(([target, spec]) => {
          const job = services[target];
          return (
            isDict(spec) &&
            spec.condition === 'service_completed_successfully' &&
            isDict(job) &&
            isDict(job.depends_on) &&
            host in job.depends_on
          );
        })
      : [];
    if (jobs.length === 0)
      problems.push(
        `services.${name}: does not wait for a job that sets up the record index's database on ${host}`,
      );
  }
  return problems;
}

const composeText = readRepoFile('docker-compose.yml') ?? '';
const workerEnv = envSchemaKeys(readRepoFile('src/config.ts') ?? '');
const apiEnv = new Set([
  ...workerEnv,
  ...envSchemaKeys(readRepoFile('src/config.ts') ?? '', 'apiEnvSchema'),
  ...envReads(readRepoFile('src/api/auth.ts') ?? ''),
]);
const programs: ProgramEnv = { 'src/worker.ts': workerEnv, 'src/api/main.ts': apiEnv };
const repo: Repo = { exists: repoPathExists, read: readRepoFile };

describe('docker-compose.yml', () => {
  it('reads the env schema keys from src/config.ts', () => {
    for (const key of [
      'TEMPORAL_ADDRESS',
      'LDAP_URL',
      'LDAP_BIND_PASSWORD',
      'TUNNUS_POLICY_FILE',
      'LOG_LEVEL',
    ]) {
      assert.ok(workerEnv.has(key), `${key} missing from ${[...workerEnv].join(', ')}`);
    }
  });

  it("reads the API's own variables from src/api/main.ts and src/api/auth.ts, for the API only", () => {
    for (const key of [
      'API_HOST',
      'API_PORT',
      'API_IMPORT_BODY_LIMIT_BYTES',
      'API_CLIENTS',
      'API_CLIENTS_FILE',
    ]) {
      assert.ok(apiEnv.has(key), `${key} missing from ${[...apiEnv].join(', ')}`);
      assert.ok(!workerEnv.has(key), `${key} is not the worker's`);
    }
    assert.ok(
      apiEnv.has('RECORD_INDEX_URL') && apiEnv.has('TEMPORAL_ADDRESS'),
      'the API reads src/config.ts too',
    );
  });

  it('passes every check', () => {
    assert.ok(composeText, 'docker-compose.yml is missing');
    assert.deepEqual(checkCompose(composeText, repo, programs), []);
  });

  it('registers exactly the search attributes the workflows set', () => {
    const doc = parse(composeText) as { services: Record<string, Dict> };
    const declared = Object.values(doc.services)
      .map((s) => environmentOf(s).get('TUNNUS_SEARCH_ATTRIBUTES'))
      .filter((v): v is string => v !== undefined);
    assert.equal(declared.length, 1, 'one service registers the search attributes');
    const registered = Object.fromEntries(
      declared[0]!
        .split(/\s+/)
        .map((pair): [string, string] => [pair.split('=')[0]!, pair.split('=')[1] ?? '']),
    );
    assert.deepEqual(registered, { ...searchAttributeDefinitions });
  });

  it('runs the worker and the API from the one image, the API with its own command', () => {
    const doc = parse(composeText) as { services: Record<string, Dict> };
    const { worker, api } = doc.services;
    assert.ok(worker && api, 'services worker and api');
    assert.deepEqual(api.build, worker.build);
    assert.equal(worker.command, undefined, "the worker runs the image's CMD (src/worker.ts)");
    assert.deepEqual(api.command, ['node', '--import', 'tsx', 'src/api/main.ts']);
  });

  it('gives the secrets, the host files and the external endpoints only as required variables', () => {
    for (const name of [
      'LDAP_BIND_PASSWORD',
      'POSTGRES_PASSWORD',
      'RECORD_INDEX_PASSWORD',
      'LDAP_CA_CERT_FILE',
      'API_CLIENTS_HOST_FILE',
      'GRAPH_TENANT_ID',
      'GRAPH_CLIENT_ID',
      'GRAPH_CLIENT_CERT_FILE',
      'PHONE_BASE_URL',
      'PHONE_API_KEY',
    ]) {
      assert.match(
        composeText,
        new RegExp(`\\$\\{${name}:\\?[^}]+\\}`),
        `${name} must be \${${name}:?message}`,
      );
      assert.doesNotMatch(composeText, new RegExp(`\\$\\{${name}:?-`), `${name} must have no default`);
    }
    assert.doesNotMatch(composeText, /^\s+GRAPH_STATIC_TOKEN:/m, 'the simulator token has no place here');
  });

  it('has deploy scripts that sh can parse', () => {
    const scripts = fs
      .readdirSync(path.join(ROOT, 'deploy'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.sh'));
    assert.ok(scripts.includes(path.join('record-index', 'setup.sh')), scripts.join(', '));
    for (const script of scripts) {
      const result = spawnSync('sh', ['-n', path.join(ROOT, 'deploy', script)], { encoding: 'utf8' });
      assert.equal(result.status, 0, `deploy/${script}: ${result.stderr}`);
    }
  });
});

describe('the production stack as operated', () => {
  const doc = parse(composeText) as { services: Record<string, Dict> };
  const services = doc.services;
  const operations = readRepoFile('docs/operations.md') ?? '';
  const imageOf = (name: string) => scalar(services[name]?.image);
  const tagOf = (name: string) => imageOf(name).slice(imageOf(name).lastIndexOf(':') + 1);

  it('runs Temporal server and its schema tools at one version, on the plain server image', () => {
    assert.match(imageOf('temporal'), /^temporalio\/server:\d+\.\d+\.\d+$/);
    for (const job of ['temporal-schema', 'temporal-setup']) {
      assert.equal(
        imageOf(job),
        `temporalio/admin-tools:${tagOf('temporal')}`,
        `${job} must match the server`,
      );
    }
    const images = Object.keys(services).map(imageOf);
    assert.ok(!images.some((i) => i.startsWith('temporalio/auto-setup')), 'auto-setup is retired');
    assert.match(imageOf('temporal-ui'), /^temporalio\/ui:\d+\.\d+\.\d+$/);
  });

  it('runs the record index job on the same PostgreSQL image as the database it sets up', () => {
    assert.match(imageOf('postgresql'), /^postgres:\d+\.\d+-\w+$/);
    assert.equal(imageOf('record-index-db'), imageOf('postgresql'));
  });

  it('states the history shard count as a fixed power of two, with its sizing in the docs', () => {
    const shards = environmentOf(services.temporal ?? {}).get('NUM_HISTORY_SHARDS');
    assert.ok(
      shards !== undefined,
      'NUM_HISTORY_SHARDS must be set: the server default (4) is for development',
    );
    assert.match(shards, /^\d+$/, 'a literal, not a variable: it must never change on an existing database');
    const count = Number(shards);
    assert.ok(count >= 128 && (count & (count - 1)) === 0, `${count} is not a power of two of at least 128`);
    assert.match(operations, new RegExp(`\\b${count}\\b[^\\n]*shards|shards[^\\n]*\\b${count}\\b`, 'i'));
  });

  it("checks the worker's readiness on its metrics port, reachable in the stack's network only", () => {
    const worker = services.worker ?? {};
    const env = environmentOf(worker);
    const port = env.get('TUNNUS_METRICS_PORT') ?? '9464';
    const test = (argsOf(isDict(worker.healthcheck) ? worker.healthcheck.test : undefined) ?? []).join(' ');
    assert.ok(test.includes(`fetch('http://127.0.0.1:${port}/ready')`), `worker healthcheck: ${test}`);
    assert.match(test, /process\.exit\(r\.ok\?0:1\)/, 'a non-2xx answer is unhealthy');
    assert.match(test, /\(\)=>process\.exit\(1\)/, 'no answer is unhealthy');
    assert.equal(env.get('TUNNUS_METRICS_HOST'), '0.0.0.0', 'listen on the container network');
    // The route is the worker's, not the API's (which has a /ready of its own).
    const workerSources = fs
      .readdirSync(path.join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.startsWith(`api${path.sep}`))
      .map((f) => readRepoFile(path.join('src', f)) ?? '');
    assert.ok(
      workerSources.some((text) => text.includes("'/ready'")),
      'no /ready route outside src/api: the worker has nothing to answer the health check',
    );
    assert.equal(worker.ports, undefined, 'no host port: metrics stay inside, and replicas cannot clash');
    assert.deepEqual(worker.expose, [port]);
  });

  it('can run more than one worker, and says how', () => {
    const deploy = services.worker?.deploy;
    assert.ok(isDict(deploy), 'worker.deploy');
    assert.equal(withDefaults(scalar(deploy.replicas)), '1');
    assert.match(scalar(deploy.replicas), /^\$\{TUNNUS_WORKER_REPLICAS:-1\}$/);
    assert.equal(services.worker?.container_name, undefined, 'a fixed container name allows one replica');
    assert.match(operations, /--scale worker=|TUNNUS_WORKER_REPLICAS/);
    assert.match(operations, /helm/i, 'a pointer to Temporal’s Helm chart for Kubernetes');
  });

  it('points at a backup procedure that covers both databases', () => {
    assert.match(composeText, /docs\/operations\.md/);
    // The dump loop of docs/operations.md: `for db in …; do … pg_dump … -d "$db" …`.
    const loop = /for db in ([^;\n]+); do\n(?:[^\n]*\n){0,3}?[^\n]*pg_dump [^\n]*-d "\$db"/.exec(operations);
    assert.ok(loop, 'docs/operations.md dumps each database with pg_dump in a loop');
    // Temporal's two databases (schema job) and the record index (record-index-db job).
    assert.deepEqual(loop[1]!.trim().split(/\s+/).sort(), ['temporal', 'temporal_visibility', 'tunnus']);
    assert.match(operations, /pg_restore [^\n]*-d "\$db"/);
    // deploy/backup.sh, for cron, runs the same loop (the index under its compose name).
    const script = readRepoFile('deploy/backup.sh') ?? '';
    assert.match(operations, /deploy\/backup\.sh/);
    assert.match(script, /for db in temporal temporal_visibility "\$\{RECORD_INDEX_DB:-tunnus\}"; do/);
    assert.match(script, /pg_dump [^\n]*-Fc -d "\$db"/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readRepoFile('Dockerfile') ?? '';

  it('installs production dependencies only, on Node.js 24 (bookworm-slim), and runs as a non-root user', () => {
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    assert.equal(base, 'node:24-bookworm-slim');
    const froms = dockerfile.match(/^FROM\s+\S+/gm) ?? [];
    assert.ok(froms.length >= 2, 'multi-stage');
    assert.deepEqual(new Set(froms), new Set(['FROM ${NODE_IMAGE}']), 'every stage on the one Node image');
    assert.match(dockerfile, /npm ci --omit=dev/);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const user = /^USER\s+(\S+)/m.exec(finalStage)?.[1];
    assert.ok(user && !['root', '0'].includes(user), `final stage runs as ${user ?? 'root'}`);
  });

  it('runs TypeScript through tsx, which must therefore be a runtime dependency', () => {
    assert.match(dockerfile, /"--import", "tsx"/);
    const pkg = JSON.parse(readRepoFile('package.json') ?? '{}') as { dependencies?: Record<string, string> };
    assert.ok(pkg.dependencies?.tsx, 'tsx must be in dependencies (npm ci --omit=dev drops devDependencies)');
  });

  it('keeps node_modules, .state, .git and test output out of the build context', () => {
    const ignored = new Set((readRepoFile('.dockerignore') ?? '').split(/\r?\n/).map((l) => l.trim()));
    for (const entry of ['node_modules', '.state', '.git', 'test', 'coverage', 'test-results']) {
      assert.ok(ignored.has(entry), `.dockerignore lacks ${entry}`);
    }
  });
});

describe('the compose checker can fail', () => {
  it('reports a misspelt worker variable', () => {
    const broken = composeText.replace('LDAP_BIND_PASSWORD: ${', 'LDAP_BIND_PASWORD: ${');
    assert.notEqual(broken, composeText, 'the fixture must actually change the file');
    const problems = checkCompose(broken, repo, programs);
    assert.ok(
      problems.some((p) => p.includes('environment.LDAP_BIND_PASWORD') && p.includes('no such variable')),
      problems.join('\n'),
    );
  });

  it('reports an image on a tag that moves with each patch release', () => {
    const broken = composeText
      .replace(/image: temporalio\/ui:(\d+\.\d+)\.\d+/, 'image: temporalio/ui:$1')
      .replace(/image: postgres:(\d+)\.\d+-bookworm/, 'image: postgres:$1-bookworm');
    assert.notEqual(broken, composeText, 'the fixture must actually change the file');
    const problems = checkCompose(broken, repo, programs);
    const expected = [
      /^services\.temporal-ui\.image temporalio\/ui:\d+\.\d+ is not pinned to an exact patch release \(X\.Y\.Z\)$/,
      /^services\.postgresql\.image postgres:\d+-bookworm is not pinned to an exact patch release \(MAJOR\.MINOR\)$/,
    ];
    for (const pattern of expected)
      assert.ok(
        problems.some((p) => pattern.test(p)),
        problems.join('\n'),
      );
  });

  it('reports every other kind of mistake', () => {
    const broken = `
services:
  db:
    image: postgres
  ui:
    image: temporalio/ui:latest
    restart: unless-stopped
    environment:
      PORT: \${UI_PORT}
      HOST: $UI_HOST
      SECRET: \${SECRET:?}
    depends_on:
      - temporl
  worker:
    build: .
    restart: unless-stopped
    healthcheck:
      test: ['CMD', 'true']
    environment:
      TUNNUS_POLICY_FILE: /etc/tunnus/policy.yaml
    volumes:
      - ./config/policy.yml:/etc/tunnus/policy.yaml
`;
    const problems = checkCompose(broken, repo, programs).join('\n');
    for (const expected of [
      'services.db.image postgres has no tag',
      'services.ui.image temporalio/ui:latest uses the floating tag "latest"',
      '${UI_PORT} has neither a default',
      '$UI_HOST has no default',
      '${SECRET:?} has no message',
      'services.ui.depends_on: no service temporl',
      'services.db: long-running service without a healthcheck',
      'services.db: long-running service without a restart policy',
      'services.ui: long-running service without a healthcheck',
      './config/policy.yml does not exist in the repo',
      'TUNNUS_POLICY_FILE: /etc/tunnus/policy.yaml is not a read-only mount',
    ]) {
      assert.ok(problems.includes(expected), `expected "${expected}" in:\n${problems}`);
    }
  });

  it('reports an API service that is not hardened, not reachable or checked on the wrong route', () => {
    const broken = `
services:
  db:
    image: postgres:16.9-bookworm
    restart: unless-stopped
    healthcheck:
      test: ['CMD', 'pg_isready']
  worker:
    build: .
    restart: unless-stopped
    read_only: true
    cap_drop: [ALL]
    security_opt: ['no-new-privileges:true']
    healthcheck:
      test: ['CMD', 'true']
    environment:
      API_PORT: '8080'
      RECORD_INDEX_URL: postgres://tunnus:\${RECORD_INDEX_PASSWORD:?set it}@db:5432/tunnus
  api:
    build: .
    command: ['node', '--import', 'tsx', 'src/api/mian.ts']
    restart: unless-stopped
  api2:
    build: .
    command: ['node', '--import', 'tsx', 'src/api/main.ts']
    restart: unless-stopped
    cap_drop: [NET_RAW]
    environment:
      API_HOST: 127.0.0.1
      API_PORT: '8080'
      RECORD_INDEX_URL: postgres://tunnus:secret@db:5432/other
    ports:
      - '\${API_BIND_ADDRESS:-0.0.0.0}:8081:9090'
    healthcheck:
      test: ['CMD', 'node', '-e', "fetch('http://127.0.0.1:8080/healthz')"]
  job:
    image: postgres:16.9-bookworm
    volumes:
      - ./deploy/record-index:/deploy:ro
    entrypoint: ['/bin/sh', '/deploy/stup.sh']
`;
    const problems = checkCompose(broken, repo, programs).join('\n');
    for (const expected of [
      'services.worker.environment.API_PORT: src/worker.ts reads no such variable',
      'services.api.command names src/api/mian.ts, which does not exist in the repo',
      'services.api: runs node --import tsx src/api/mian.ts, not a program whose variables this test knows',
      'services.api: read_only root file system is not set',
      'services.api2: cap_drop does not drop ALL',
      'services.api2: security_opt lacks no-new-privileges:true',
      'services.api2.ports: ${API_BIND_ADDRESS:-0.0.0.0}:8081:9090 is published on 0.0.0.0 by default',
      'services.api2.environment.API_HOST: 127.0.0.1 cannot be reached through the published port',
      'does not publish API_PORT 8080',
      'services.api2.healthcheck: /healthz is not a route of src/api/routes/health.ts',
      'RECORD_INDEX_URL differs between the Tunnus services',
      "services.worker: does not wait for a job that sets up the record index's database on db",
      'services.job: runs /deploy/stup.sh, but deploy/record-index/stup.sh does not exist in the repo',
    ]) {
      assert.ok(problems.includes(expected), `expected "${expected}" in:\n${problems}`);
    }
  });

  it('reports an API health check that asks another port, or no HTTP at all', () => {
    const wrongPort = composeText.replace("'http://127.0.0.1:8080/ready'", "'http://127.0.0.1:8081/ready'");
    assert.notEqual(wrongPort, composeText, 'the fixture must actually change the file');
    assert.ok(
      checkCompose(wrongPort, repo, programs).includes(
        'services.api.healthcheck: asks port 8081, but API_PORT is 8080',
      ),
    );
    const noHttp = composeText.replace("'http://127.0.0.1:8080/ready'", "'/ready'");
    assert.ok(
      checkCompose(noHttp, repo, programs).includes(
        'services.api.healthcheck: does not request the API over HTTP on the loopback interface',
      ),
    );
  });

  it('reports a Dockerfile whose CMD names a missing file', () => {
    const dockerfile = readRepoFile('Dockerfile') ?? '';
    assert.deepEqual(checkDockerfile(dockerfile, repo), []);
    const broken = dockerfile.replace('src/worker.ts', 'src/wroker.ts');
    assert.notEqual(broken, dockerfile);
    assert.deepEqual(checkDockerfile(broken, repo), [
      'Dockerfile: CMD/ENTRYPOINT names src/wroker.ts, which does not exist in the repo',
    ]);
  });
});
