// The boundaries of the design, kept by a test (as samples-typescript's lint rules and fastify's docs
// test keep theirs): SQL only in db/, workflows that import nothing with side effects, Baileys only
// behind the session interface, pure domain rules, and folders that never import each other in a
// circle. Each failure names the file and line that crosses the boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', 'dist', '.git', 'data', 'data-demo', 'test-results']);

/** Every TypeScript source of the repository, by its path from the root. */
function sources(dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (SKIP.has(name) || name.startsWith('.') || name.startsWith('dist.')) return [];
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|tsx)$/.test(name) && !name.endsWith('.d.ts') ? [relative(root, path)] : [];
  });
}

interface Import {
  file: string;
  line: number;
  specifier: string;
  /** `import type`, or every name imported is a type: nothing of it runs. */
  typeOnly: boolean;
  /** For a relative specifier, the file it names, from the root; undefined for a package. */
  target?: string;
}

interface Parsed {
  file: string;
  source: ts.SourceFile;
  imports: Import[];
}

const folderOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : '.');
const lineOf = (source: ts.SourceFile, node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;

function parse(file: string): Parsed {
  const text = readFileSync(join(root, file), 'utf8');
  const source = ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.Latest,
    true,
    file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const imports: Import[] = [];
  const add = (node: ts.Node, specifier: string, typeOnly: boolean) => {
    const target = specifier.startsWith('.') ? normalize(join(dirname(file), specifier)).replace(/\.js$/, '.ts') : undefined;
    imports.push({ file, line: lineOf(source, node), specifier, typeOnly, target });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const everyNameAType =
        !!clause &&
        !clause.name &&
        !!bindings &&
        ts.isNamedImports(bindings) &&
        bindings.elements.length > 0 &&
        bindings.elements.every((e) => e.isTypeOnly);
      add(node, node.moduleSpecifier.text, !!clause && (clause.isTypeOnly || everyNameAType));
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node, node.moduleSpecifier.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node, node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node, node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { file, source, imports };
}

const parsed = sources().map(parse);
const inFolders = (folders: string[]) => parsed.filter((p) => folders.includes(folderOf(p.file)));
const where = (i: { file: string; line: number }) => `${i.file}:${i.line}`;
const report = (what: string, offences: string[]) => `${what}:\n  ${offences.join('\n  ')}`;

/** The folders of the product; stack/, scripts/, simulator/, web/, test/ and bench/ are tooling around it. */
const PRODUCT = ['api', 'activities', 'workflows', 'worker', 'temporal', 'domain', 'media', 'db', 'whatsapp', 'lib', 'config'];

test('the sources are found and parsed (a check that reads nothing would pass anything)', () => {
  for (const folder of PRODUCT) assert.ok(inFolders([folder]).length > 0, `no source in ${folder}/`);
  const imports = parsed.reduce((n, p) => n + p.imports.length, 0);
  assert.ok(parsed.length > 250 && imports > 1_500, `${parsed.length} files, ${imports} imports`);
});

test('knex and pg are used only in db/ (and by the stack, tests and benchmarks that set databases up)', () => {
  // The stack starts Postgres; tests and benchmarks seed and inspect databases. Nothing else builds a query.
  const allowed = ['db', 'stack', 'test', 'bench'];
  const offences: string[] = [];
  for (const { file, source, imports } of parsed) {
    if (allowed.includes(folderOf(file))) continue;
    for (const i of imports) {
      if (/^(knex|pg|pg-[\w-]+)(\/|$)/.test(i.specifier) && !i.typeOnly) offences.push(`${where(i)} imports ${i.specifier}`);
    }
    // A query built on a knex handle: db('table'), db.raw(...), db.transaction(...), trx('table'), x.db('table').
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        const handle = (e: ts.Expression) => ts.isIdentifier(e) && /^(db|trx|knex)$/.test(e.text);
        const query =
          handle(callee) ||
          (ts.isPropertyAccessExpression(callee) &&
            ((handle(callee.expression) && /^(raw|transaction|schema|from|select|insert|update|delete)$/.test(callee.name.text)) ||
              callee.name.text === 'db'));
        if (query) offences.push(`${file}:${lineOf(source, node)} builds a query: ${node.getText(source).split('\n')[0]!.slice(0, 80)}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  assert.deepEqual(offences, [], report('SQL outside db/', offences));
});

test('workflows import only @temporalio/workflow, types, the pure domain rules and each other', () => {
  const offences: string[] = [];
  for (const { imports } of inFolders(['workflows'])) {
    for (const i of imports) {
      if (i.typeOnly || i.specifier === '@temporalio/workflow') continue;
      if (i.target && ['workflows', 'domain'].includes(folderOf(i.target))) continue;
      offences.push(`${where(i)} imports ${i.specifier}`);
    }
  }
  assert.deepEqual(offences, [], report('workflow code that would pull I/O into the workflow bundle', offences));
});

test('the pure domain rules import nothing else of the project', () => {
  const offences = inFolders(['domain'])
    .flatMap((p) => p.imports)
    .filter((i) => i.target && folderOf(i.target) !== 'domain')
    .map((i) => `${where(i)} imports ${i.specifier}`);
  assert.deepEqual(offences, [], report('domain/ depending on another folder', offences));
});

test('Baileys is imported only in whatsapp/ and simulator/ (and the tests that drive it against the simulator)', () => {
  // test/: the mapping tables feed the mappers Baileys' own types, and bare Baileys clients talk to the simulator.
  const allowed = ['whatsapp', 'simulator', 'test'];
  const offences = parsed
    .filter((p) => !allowed.includes(folderOf(p.file)))
    .flatMap((p) => p.imports)
    .filter((i) => /^(@whiskeysockets\/baileys|libsignal)(\/|$)/.test(i.specifier))
    .map((i) => `${where(i)} imports ${i.specifier}`);
  assert.deepEqual(offences, [], report('Baileys outside whatsapp/', offences));
});

test('no folders import each other in a cycle (type imports count: they bind the folders too)', () => {
  // folder -> folder -> the first import that makes the edge
  const edges = new Map<string, Map<string, Import>>();
  for (const { file, imports } of parsed) {
    const from = folderOf(file);
    for (const i of imports) {
      if (!i.target) continue;
      const to = folderOf(i.target);
      if (to === from || to === '.') continue;
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, i);
    }
  }
  // Depth-first search; a grey folder met again closes a cycle.
  const state = new Map<string, 'grey' | 'black'>();
  const cycles: string[] = [];
  const path: string[] = [];
  const visit = (folder: string) => {
    state.set(folder, 'grey');
    path.push(folder);
    for (const [next] of edges.get(folder) ?? []) {
      if (state.get(next) === 'grey') {
        const cycle = [...path.slice(path.indexOf(next)), next];
        const steps = cycle.slice(0, -1).map((f, k) => `${f}/ -> ${cycle[k + 1]}/ (${where(edges.get(f)!.get(cycle[k + 1]!)!)})`);
        cycles.push(steps.join(', '));
      } else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(folder, 'black');
  };
  for (const folder of [...edges.keys()].sort()) if (!state.has(folder)) visit(folder);
  assert.ok(edges.get('api')?.has('db') && edges.get('workflows')?.has('activities'), 'the folder graph was read');
  assert.deepEqual(cycles, [], report('folders importing each other in a cycle', cycles));
});
