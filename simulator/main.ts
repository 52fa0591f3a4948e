/**
 * `npm run simulator`: the WhatsApp Web simulator as its own process, so the
 * gateway can be demonstrated without a phone. The gateway connects to its
 * websocket; the simulated phones are driven through the control API.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { Simulator } from './simulator.js';
import { mountControlApi } from './control.js';
import { WA_VERSION } from './version.js';

// libsignal prints whole Signal sessions (keys included) with console.info when it replaces one: not for a terminal.
console.info = () => {};

const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);
const envSchema = z.object({
  SIM_PORT: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(65535).default(7780)),
  SIM_HOST: z.preprocess(unsetIfEmpty, z.string().min(1).default('127.0.0.1')),
  DATA_DIR: z.preprocess(unsetIfEmpty, z.string().min(1).default('./data')),
  // The gateway's port and data, for the hints printed below.
  PORT: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(65535).default(3000)),
});

function loadEnv(): z.infer<typeof envSchema> {
  const parsed = envSchema.safeParse(process.env);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  process.stderr.write(`configuration error: invalid ${issue.path.join('.')}: ${issue.message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const env = loadEnv();
  await mkdir(env.DATA_DIR, { recursive: true, mode: 0o700 });
  // Users, linked devices and keys are kept across restarts: a gateway linked before logs in again.
  const stateFile = resolve(env.DATA_DIR, 'simulator-state.json');
  const sim = await Simulator.start({ port: env.SIM_PORT, host: env.SIM_HOST, stateFile });
  // The media host's certificate is made at each start: the gateway must trust this file.
  const caFile = await sim.media.writeCa(resolve(env.DATA_DIR, 'simulator-ca.pem'));
  mountControlApi(sim, { caFile });

  const control = `http://${env.SIM_HOST}:${sim.port}/control`;
  const json = `-H 'content-type: application/json'`;
  process.stdout.write(
    [
      `[simulator] WhatsApp Web simulator on ${sim.url}`,
      `[simulator] control API ${control}`,
      `[simulator] users and linked devices ${kept(sim, stateFile)}`,
      '',
      'Point the gateway at it:',
      `  WA_WS_URL=${sim.url} WA_VERSION=${WA_VERSION} WA_CA_FILE=${caFile} DATA_DIR=${env.DATA_DIR} PORT=${env.PORT} npm start`,
      '',
      "Then scan the default instance's QR with a simulated phone and talk to it:",
      `  TOKEN=$(DATA_DIR=${env.DATA_DIR} npm run -s token)`,
      `  curl -X POST -H "Authorization: Bearer $TOKEN" localhost:${env.PORT}/api/instance/default/connect`,
      `  QR=$(curl -s -H "Authorization: Bearer $TOKEN" localhost:${env.PORT}/api/instance/default/qr | node -pe 'JSON.parse(require("fs").readFileSync(0)).qrCode')`,
      `  curl -X POST ${json} ${control}/scan -d "{\\"phone\\":\\"905550000001\\",\\"qr\\":\\"$QR\\"}"`,
      `  curl -X POST ${json} ${control}/users -d '{"phone":"905550000002","name":"Ayşe"}'`,
      `  curl -X POST ${json} ${control}/messages -d '{"from":"905550000002","to":"905550000001","body":"Merhaba"}'`,
      `  curl '${control}/received?to=905550000002'`,
      '',
    ].join('\n'),
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`[simulator] ${signal}: stopping\n`);
    setTimeout(() => process.exit(0), 5_000).unref();
    sim.stop().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`[simulator] stop failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

function kept({ stateLoad }: Simulator, file: string): string {
  if (stateLoad?.found === 'loaded') return `read from ${file}`;
  if (stateLoad?.found === 'unreadable') return `not read from ${file} (${stateLoad.error}): starting afresh, kept there from now on`;
  return `kept in ${file}`;
}

main().catch((err: Error) => {
  process.stderr.write(`[simulator] failed to start: ${err.message}\n`);
  process.exit(1);
});
