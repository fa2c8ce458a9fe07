import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { searchAttributeDefinitions } from '../../src/workflows/messages';

// Checks docker-compose.yml and the Dockerfile against the code, without Docker: variable names the
// worker receives must be names src/config.ts reads, every interpolation must have a default or a
// required-message, long-running services need health checks, images are pinned, and so on.
//
// The allowed worker variables come from the zod env schema in src/config.ts. `envSchema` is not
// exported (and this test adds no export), so the keys are extracted from the source text of the
// `const envSchema = z.object({ ... })` block with a regex (`NAME: z.`).

const ROOT = path.resolve(__dirname, '..', '..');
const readRepoFile = (rel: string): string | undefined => {
  const file = path.join(ROOT, rel);
  return fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : undefined;
};
const repoPathExists = (rel: string): boolean => fs.existsSync(path.join(ROOT, rel));

export function envSchemaKeys(configSource: string): Set<string> {
  const start = configSource.indexOf('const envSchema = z.object({');
  if (start < 0) throw new Error('src/config.ts: `const envSchema = z.object({` not found');
  const end = configSource.indexOf('\n});', start);
  const block = configSource.slice(start, end < 0 ? undefined : end);
  return new Set([...block.matchAll(/^\s*([A-Z][A-Z0-9_]*):\s*z\b/gm)].map((m) => m[1]!));
}

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
  return undefined;
}

const normalise = (p: string): string => path.posix.normalize(p.replace(/^\.\//, '')).replace(/\/$/, '');

/** Checks a Dockerfile's final stage: CMD/ENTRYPOINT must name files that exist and are copied in. */
export function checkDockerfile(text: string, repo: Repo, where = 'Dockerfile'): string[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  let lastFrom = -1;
  lines.forEach((l, i) => {
    if (/^FROM\s/i.test(l)) lastFrom = i;
  });
  if (lastFrom < 0) return [`${where}: no FROM`];
  const stage = lines.slice(lastFrom);
  const command = stage.filter((l) => /^(CMD|ENTRYPOINT)\s/i.test(l));
  if (command.length === 0) return [`${where}: the final stage has no CMD or ENTRYPOINT`];
  const args = command.flatMap((l) => {
    const rest = l.replace(/^\S+\s+/, '');
    try {
      const parsed: unknown = JSON.parse(rest);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // shell form
    }
    return rest.split(/\s+/);
  });
  const files = args.filter(
    (a) => !a.startsWith('-') && !a.startsWith('/') && (/\.(ts|js|mjs|cjs)$/.test(a) || a.includes('/')),
  );
  if (files.length === 0) return [`${where}: CMD/ENTRYPOINT (${args.join(' ')}) names no file from the repo`];
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
    if (!repo.exists(file))
      problems.push(`${where}: CMD/ENTRYPOINT names ${file}, which does not exist in the repo`);
    else if (!copied.some(within)) problems.push(`${where}: ${file} is never COPYed into the final stage`);
    else if (ignored.some(within)) problems.push(`${where}: ${file} is excluded by .dockerignore`);
  }
  return problems;
}

/** Every problem found in a compose file; empty when it passes. */
export function checkCompose(text: string, repo: Repo, workerEnv: ReadonlySet<string>): string[] {
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
    if (build !== undefined) {
      const context = withDefaults((isDict(build) ? scalar(build.context) : scalar(build)) || '.');
      const dockerfile = withDefaults((isDict(build) && scalar(build.dockerfile)) || 'Dockerfile');
      const rel = normalise(path.posix.join(context, dockerfile));
      const content = repo.read(rel);
      if (content === undefined) problems.push(`${where}.build: ${rel} does not exist`);
      else problems.push(...checkDockerfile(content, repo, rel));
    } else if (typeof service.image !== 'string') {
      problems.push(`${where}: neither image nor build`);
    }
    if (typeof service.image === 'string') {
      const problem = imageProblem(withDefaults(service.image));
      if (problem) problems.push(`${where}.image ${service.image} ${problem}`);
    }

    // Services built from this repo run Tunnus code: they get only the names src/config.ts reads.
    const env = environmentOf(service);
    const mounts = mountsOf(service);
    const runsTunnus = build !== undefined;
    if (runsTunnus) {
      if (service.env_file !== undefined)
        problems.push(`${where}.env_file: its keys cannot be checked; list them`);
      for (const [key, value] of env) {
        if (!workerEnv.has(key))
          problems.push(`${where}.environment.${key}: src/config.ts reads no such variable`);
        // A path handed to the code must be something mounted read-only into the container.
        if (value?.startsWith('/') && !mounts.some((m) => m.target === value && m.readOnly)) {
          problems.push(`${where}.environment.${key}: ${value} is not a read-only mount of this service`);
        }
      }
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
  return problems;
}

const composeText = readRepoFile('docker-compose.yml') ?? '';
const workerEnv = envSchemaKeys(readRepoFile('src/config.ts') ?? '');
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

  it('passes every check', () => {
    assert.ok(composeText, 'docker-compose.yml is missing');
    assert.deepEqual(checkCompose(composeText, repo, workerEnv), []);
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

  it('gives the worker the secrets and the CA only as required variables', () => {
    for (const name of ['LDAP_BIND_PASSWORD', 'POSTGRES_PASSWORD', 'LDAP_CA_CERT_FILE']) {
      assert.match(
        composeText,
        new RegExp(`\\$\\{${name}:\\?[^}]+\\}`),
        `${name} must be \${${name}:?message}`,
      );
      assert.doesNotMatch(composeText, new RegExp(`\\$\\{${name}:?-`), `${name} must have no default`);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readRepoFile('Dockerfile') ?? '';

  it('installs production dependencies only, on node:20-bookworm-slim, and runs as a non-root user', () => {
    assert.match(dockerfile, /node:20-bookworm-slim/);
    assert.ok((dockerfile.match(/^FROM\s/gm) ?? []).length >= 2, 'multi-stage');
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
    const problems = checkCompose(broken, repo, workerEnv);
    assert.ok(
      problems.some((p) => p.includes('environment.LDAP_BIND_PASWORD') && p.includes('no such variable')),
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
    const problems = checkCompose(broken, repo, workerEnv).join('\n');
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
