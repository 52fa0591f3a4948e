// docker-compose.yml read as Compose would (no Docker engine runs here): the services a deployment
// needs, pinned images, healthchecks and the order they gate, volumes, and only variables the gateway reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { configSchema } from '../config/index.js';
import { NODE_FLAGS } from '../lib/nodeFlags.js';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
  deploy?: { replicas?: number };
  stop_grace_period?: string;
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const { services } = compose;
const dockerfile = readFileSync('Dockerfile', 'utf8');

/** A file the image runs: under dist/, the output of a source that `npm run build` compiles (tsconfig.build.json). */
function inImage(file: string): boolean {
  if (!file.startsWith('dist/')) return existsSync(file);
  const source = file.slice('dist/'.length).replace(/\.js$/, '.ts');
  const build = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[]; exclude?: string[] };
  const within = (paths: string[] = []) => paths.some((path) => source === path || source.startsWith(`${path}/`));
  return existsSync(source) && within(build.include) && !within(build.exclude);
}

test('the services of a deployment are all there, and every image is pinned to a version', () => {
  assert.deepEqual(Object.keys(services).sort(), ['api', 'postgres', 'temporal', 'temporal-ui', 'worker']);
  for (const [name, service] of Object.entries(services)) {
    if (service.build) continue;
    assert.match(service.image ?? '', /^[\w./-]+:\d[\w.-]*$/, `${name}: ${service.image} is not pinned to a version`);
  }
});

test('the API and the workers run files of the image, with only variables the gateway reads', () => {
  const known = new Set(Object.keys(configSchema.shape));
  for (const name of ['api', 'worker']) {
    const service = services[name]!;
    const entry = service.command?.at(-1);
    assert.ok(entry && inImage(entry), `${name}: ${entry} is not in the image`);
    const env = Object.keys(service.environment ?? {});
    assert.ok(env.includes('DATABASE_URL') && env.includes('TEMPORAL_ADDRESS'), `${name}: DATABASE_URL and TEMPORAL_ADDRESS`);
    for (const variable of env) assert.ok(known.has(variable), `${name}: ${variable} is not a variable of config/index.ts`);
    // They share the data directory (media) through a volume mounted there.
    const dataDir = String(service.environment!.DATA_DIR);
    assert.ok(
      service.volumes?.some((v) => v.endsWith(`:${dataDir}`) && compose.volumes[v.split(':')[0]!] !== undefined),
      `${name}: a volume at ${dataDir}`,
    );
  }
  const cmd = dockerfile.match(/^CMD (\[.*\])$/m)?.[1];
  assert.ok(cmd && inImage((JSON.parse(cmd) as string[]).at(-1)!), 'the Dockerfile CMD runs a file of the image');
});

test('the image runs the build with plain node: compiled in a stage of its own, no TypeScript loader or dev dependencies', () => {
  const [build, runtime] = dockerfile.split(/^FROM /m).slice(1);
  assert.ok(build && runtime, 'a build stage and the image');
  assert.match(build, /^RUN npm ci\b(?!.*--omit)/m, 'the build stage installs the dev dependencies');
  assert.match(build, /^RUN npm run build$/m);
  assert.match(runtime, /^RUN npm ci --omit=dev\b/m);
  assert.match(runtime, /^COPY --from=\w+ \/app\/dist \.\/dist$/m);
  assert.match(runtime, /^ENV NODE_ENV=production$/m);
  const commands = {
    CMD: JSON.parse(runtime.match(/^CMD (\[.*\])$/m)![1]!) as string[],
    api: services.api!.command!,
    worker: services.worker!.command!,
  };
  for (const [name, command] of Object.entries(commands)) {
    // The gateway's Node flags (lib/nodeFlags.ts), and nothing that loads TypeScript.
    assert.deepEqual(command.slice(0, -1), ['node', ...NODE_FLAGS], `${name}: ${command.join(' ')}`);
    assert.match(command.at(-1)!, /^dist\/.*\.js$/, `${name}: ${command.join(' ')}`);
  }
});

test('healthchecks gate the start order: Postgres, then Temporal, then the API and workers; the API is checked for readiness', () => {
  for (const name of ['postgres', 'temporal', 'api']) assert.ok(services[name]!.healthcheck?.test.length, `${name} has a healthcheck`);
  assert.match(services.api!.healthcheck!.test.join(' '), /\/ready/);
  const gated = (name: string, on: string) => {
    const depends = services[name]!.depends_on as Record<string, { condition: string }>;
    assert.equal(depends?.[on]?.condition, 'service_healthy', `${name} waits for ${on} to be healthy`);
  };
  gated('temporal', 'postgres');
  for (const name of ['api', 'worker']) {
    gated(name, 'postgres');
    gated(name, 'temporal');
  }
  assert.ok(
    services.postgres!.volumes?.some((v) => v.endsWith(':/var/lib/postgresql/data')),
    'Postgres keeps its data in a volume',
  );
});

test('workers: more than one, so a session moves when one dies, and time to hand sessions over on stop', () => {
  const worker = services.worker!;
  assert.ok((worker.deploy?.replicas ?? 1) >= 2);
  // A worker hands its sessions over and writes their keys on SIGTERM (up to its 10 s grace time).
  assert.ok(Number.parseInt(worker.stop_grace_period ?? '10s', 10) >= 15, `stop_grace_period ${worker.stop_grace_period}`);
});
