// The README and docs/ as a newcomer reads them: links that stay inside the repository, npm commands
// that exist, and configuration variables the gateway reads. (The commands themselves run in
// stack.test.ts, demo.test.ts and the rest.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const docs = ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)].filter((f) => f.endsWith('.md'));
const read = (file: string) => readFileSync(join(root, file), 'utf8');

test('every link in the README and docs/ is a web address or a file of the repository', () => {
  for (const file of docs) {
    for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^https?:\/\//.test(target!)) continue;
      const path = resolve(root, dirname(file), target!.split('#')[0]!);
      assert.ok(!relative(root, path).startsWith('..'), `${file}: ${target} leads out of the repository`);
      assert.ok(existsSync(path), `${file}: ${target} does not exist`);
    }
  }
});

test('every npm command the README and docs/ name is a script of package.json', () => {
  const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
  let named = 0;
  for (const file of docs) {
    for (const [, name] of read(file).matchAll(/npm run(?: -s)? ([\w:-]+)/g)) {
      named++;
      assert.ok(scripts.includes(name!), `${file}: npm run ${name} is not a script`);
    }
    for (const [, name] of read(file).matchAll(/\bnpm (start|test)\b/g)) assert.ok(scripts.includes(name!), `${file}: npm ${name}`);
  }
  assert.ok(named >= 5, `${named} npm run commands found`);
});

test('every variable of the configuration table (docs/configuration.md) is one the gateway reads', () => {
  const variables = [...read('docs/configuration.md').matchAll(/^\| `([A-Z][A-Z0-9_]+)`/gm)].map((m) => m[1]!);
  assert.ok(variables.length >= 20, `${variables.length} variables in the table`);
  const sources = ['config/index.ts', 'simulator/main.ts', 'stack/demo.ts'].map(read).join('\n');
  for (const name of variables) assert.match(sources, new RegExp(`\\b${name}\\b`), `${name} is documented but not read`);
});

test("the README's first screen shows what to type after `npm run demo`, on the demo's own ports and data", () => {
  const firstScreen = read('README.md').split('\n').slice(0, 50).join('\n');
  const demo = firstScreen.indexOf('npm run demo');
  assert.ok(demo >= 0, '`npm run demo` on the first screen');
  const block = [...firstScreen.slice(demo).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('curl'));
  assert.ok(block, 'a block of curl lines after `npm run demo`, on the first screen');
  // What demo.test.ts runs against a started demo: the token of its data, a send, the history, a contact writing.
  assert.match(block, /^TOKEN=\$\(DATA_DIR=\.\/data-demo npm run -s token\)$/m);
  for (const path of ['/messages/chat', '/messages?limit=', '/control/messages']) assert.ok(block.includes(path), `${path} in:\n${block}`);
  // On the ports and data directory the demo uses when nothing is set.
  const demoSource = read('stack/demo.ts');
  assert.match(demoSource, /SIM_PORT: .*\.default\(7780\)/);
  assert.match(demoSource, /DATA_DIR: .*\.default\('\.\/data-demo'\)/);
  assert.match(read('config/index.ts'), /PORT: .*\.default\(3000\)/);
  for (const [, host] of block.matchAll(/(?:localhost|127\.0\.0\.1):(\d+)/g)) assert.ok(['3000', '7780'].includes(host!), `port ${host}`);
});
