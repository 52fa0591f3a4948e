// The error-code catalogue (lib/errorCodes.ts) against the sources and docs/errors.md: every code the
// product's sources give is catalogued with the status it is given with, every catalogued code is given
// somewhere and documented, and the table documents no other code nor another status. The sources are
// read as TypeScript syntax trees, not as text, so a code split over lines or given through a helper is
// found as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { ERROR_CODES, allowsStatus, statusText, type ErrorCode } from '../lib/errorCodes.js';

const root = resolve(import.meta.dirname, '..');
/** Where the product's sources are (temporal/ and media/ once lib/ is split). */
const SOURCE_DIRS = ['api', 'lib', 'activities', 'worker', 'whatsapp', 'workflows', 'temporal', 'media', 'db'];
const CODE_LIKE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
const catalogued = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

interface Use {
  code: string;
  where: string;
  /** The status it is given with, where the source says it as a number. */
  status?: number;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

const nameOf = (node: ts.Node | undefined): string | undefined =>
  node && (ts.isIdentifier(node) || ts.isStringLiteral(node) || ts.isNumericLiteral(node)) ? node.text : undefined;

/** The code-like string literals an expression may evaluate to (through `??`, `?:`, parentheses, `as`, `satisfies`). */
function literalsOf(node: ts.Node | undefined): ts.StringLiteralLike[] {
  if (!node) return [];
  if (ts.isStringLiteralLike(node)) return CODE_LIKE.test(node.text) ? [node] : [];
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) return literalsOf(node.expression);
  if (ts.isConditionalExpression(node)) return [...literalsOf(node.whenTrue), ...literalsOf(node.whenFalse)];
  if (ts.isBinaryExpression(node) && [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken].includes(node.operatorToken.kind))
    return [...literalsOf(node.left), ...literalsOf(node.right)];
  return [];
}

const isErrorCodeType = (type: ts.TypeNode | undefined) => !!type && ts.isTypeReferenceNode(type) && nameOf(type.typeName) === 'ErrorCode';

/** Every code the sources give, where, and with which status when that is written as a number beside it. */
function scan(): Use[] {
  const files = SOURCE_DIRS.flatMap((dir) => sourceFiles(join(root, dir)));
  const trees = files.map((file) => ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true));

  // The error classes: HttpError and what extends it, in any file; with the status a class gives `super`.
  const statusOfClass = new Map<string, number | undefined>([['HttpError', undefined]]);
  const classes: ts.ClassDeclaration[] = [];
  for (const tree of trees)
    tree.forEachChild(function visit(node) {
      if (ts.isClassDeclaration(node)) classes.push(node);
      node.forEachChild(visit);
    });
  const superStatus = (cls: ts.ClassLikeDeclaration): number | undefined => {
    let status: number | undefined;
    cls.forEachChild(function visit(node) {
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.SuperKeyword) {
        const first = node.arguments[0];
        if (first && ts.isNumericLiteral(first)) status = Number(first.text);
      }
      node.forEachChild(visit);
    });
    return status;
  };
  const parentOf = (cls: ts.ClassLikeDeclaration) =>
    cls.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
  for (let grew = true; grew;) {
    grew = false;
    for (const cls of classes) {
      const name = cls.name?.text;
      if (!name || statusOfClass.has(name) || !statusOfClass.has(nameOf(parentOf(cls)) ?? '')) continue;
      statusOfClass.set(name, superStatus(cls) ?? statusOfClass.get(nameOf(parentOf(cls))!));
      grew = true;
    }
  }
  assert.ok(statusOfClass.size >= 8, `error classes found: ${[...statusOfClass.keys()].join(', ')}`);

  const uses: Use[] = [];
  for (const tree of trees) {
    const file = relative(root, tree.fileName);
    const add = (literal: ts.StringLiteralLike, status?: number) =>
      uses.push({ code: literal.text, where: `${file}:${tree.getLineAndCharacterOfPosition(literal.getStart()).line + 1}`, status });

    // Helpers of this file that take a `code` (and maybe a `status`): errorExample(status, error, code), ...
    const helpers = new Map<string, { code: number; status: number }>();
    tree.forEachChild(function visit(node) {
      const fn = ts.isFunctionDeclaration(node)
        ? node
        : ts.isVariableDeclaration(node) &&
            node.initializer &&
            (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))
          ? node.initializer
          : undefined;
      const name = nameOf(fn && ts.isFunctionDeclaration(fn) ? fn.name : ts.isVariableDeclaration(node) ? node.name : undefined);
      if (fn && name) {
        const params = fn.parameters.map((p) => nameOf(p.name));
        if (params.includes('code')) helpers.set(name, { code: params.indexOf('code'), status: params.indexOf('status') });
      }
      node.forEachChild(visit);
    });

    tree.forEachChild(function visit(node): void {
      // new NotFound('...', 'CODE'), new HttpError(502, 'CODE', ...), and super(...) in an error class.
      const inErrorClass = (n: ts.Node) => statusOfClass.has(ts.findAncestor(n, ts.isClassLike)?.name?.text ?? '');
      const isSuper = ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.SuperKeyword && inErrorClass(node);
      if ((ts.isNewExpression(node) && statusOfClass.has(nameOf(node.expression) ?? '')) || isSuper) {
        let status = isSuper ? undefined : statusOfClass.get(nameOf((node as ts.NewExpression).expression)!);
        const first = node.arguments?.[0];
        if (status === undefined && first && ts.isNumericLiteral(first)) status = Number(first.text);
        for (const arg of node.arguments ?? []) for (const literal of literalsOf(arg)) add(literal, status);
      }
      // The defaults of the classes' `code` parameters: constructor(message: string, code: ErrorCode = 'NOT_FOUND').
      if (ts.isParameter(node) && nameOf(node.name) === 'code' && node.initializer) {
        const cls = ts.findAncestor(node, ts.isClassLike);
        for (const literal of literalsOf(node.initializer)) add(literal, cls ? superStatus(cls) : undefined);
      }
      // A JSON answer built in place: { error, code: 'CODE', ... }, with its status when it is a response doc's key.
      if (ts.isObjectLiteralExpression(node)) {
        const props = new Map(node.properties.map((p) => [nameOf(p.name), p]));
        const code = props.get('code');
        if (props.has('error') && code && ts.isPropertyAssignment(code)) {
          const keyed = ts.findAncestor(node.parent, (n) => ts.isPropertyAssignment(n) && ts.isNumericLiteral(n.name));
          const status = keyed && ts.isPropertyAssignment(keyed) ? Number(nameOf(keyed.name)) : undefined;
          for (const literal of literalsOf(code.initializer)) add(literal, status);
        }
      }
      // Anything typed ErrorCode: const code: ErrorCode = ... ?? 'INTERNAL', 'SEND_FAILED' satisfies ErrorCode.
      if ((ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node)) && isErrorCodeType(node.type))
        for (const literal of literalsOf(node.initializer)) add(literal);
      if ((ts.isSatisfiesExpression(node) || ts.isAsExpression(node)) && isErrorCodeType(node.type))
        for (const literal of literalsOf(node.expression)) add(literal);
      // A call of a helper taking a code: errorExample(403, '...', 'WRONG_INSTANCE').
      if (ts.isCallExpression(node) && helpers.has(nameOf(node.expression) ?? '')) {
        const helper = helpers.get(nameOf(node.expression)!)!;
        const statusArg = node.arguments[helper.status];
        const status = statusArg && ts.isNumericLiteral(statusArg) ? Number(statusArg.text) : undefined;
        for (const literal of literalsOf(node.arguments[helper.code])) add(literal, status);
      }
      node.forEachChild(visit);
    });
  }
  return uses;
}

/** docs/errors.md's table: `| \`CODE\` | status | meaning | ... |`. */
function documented(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const [, code, status] of readFileSync(join(root, 'docs/errors.md'), 'utf8').matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|([^|]*)\|/gm)) {
    assert.ok(!rows.has(code!), `docs/errors.md lists ${code} twice`);
    rows.set(code!, status!.trim());
  }
  return rows;
}

test('every code the sources give is catalogued, with the status it is given with', () => {
  const uses = scan();
  const distinct = new Set(uses.map((u) => u.code));
  assert.ok(distinct.size >= 40, `only ${distinct.size} distinct codes found in the sources: the scan misses the ways codes are given`);
  const uncatalogued = uses.filter((u) => !catalogued(u.code)).map((u) => `${u.where}: ${u.code}`);
  assert.deepEqual(uncatalogued, [], 'codes given in the sources but not in lib/errorCodes.ts');
  const otherStatus = uses
    .filter((u) => u.status !== undefined && !allowsStatus(u.code as ErrorCode, u.status))
    .map((u) => `${u.where}: ${u.code} with ${u.status}, catalogued as ${statusText(u.code as ErrorCode)}`);
  assert.deepEqual(otherStatus, [], 'codes given with a status the catalogue does not say');
  const unused = Object.keys(ERROR_CODES).filter((code) => !distinct.has(code));
  assert.deepEqual(unused, [], 'catalogued codes no source gives');
});

test('docs/errors.md documents every catalogued code, with its status, and no other', () => {
  const docs = documented();
  const missing = Object.keys(ERROR_CODES).filter((code) => !docs.has(code));
  assert.deepEqual(missing, [], 'catalogued codes missing from docs/errors.md');
  const unknown = [...docs.keys()].filter((code) => !catalogued(code));
  assert.deepEqual(unknown, [], 'codes in docs/errors.md that lib/errorCodes.ts does not catalogue');
  const otherStatus = [...docs]
    .filter(([code, status]) => catalogued(code) && status !== statusText(code))
    .map(([code, status]) => `${code}: ${status} in docs/errors.md, ${statusText(code as ErrorCode)} in the catalogue`);
  assert.deepEqual(otherStatus, []);
});
