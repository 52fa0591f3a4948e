/**
 * The gateway's processes start others of its modules (the stack its API and
 * worker, a worker its workflow bundler) from the tree they run from
 * themselves: the TypeScript sources, loaded with tsx (development), or the
 * JavaScript that `npm run build` writes to dist/ (production), run by plain
 * node. One rule, read from this file's own name, so that the two can never
 * be mixed.
 */
import { fileURLToPath } from 'node:url';

/** Whether this process runs the compiled tree (dist/) rather than the sources. */
export const compiled = import.meta.url.endsWith('.js');

/** The repository's root (package.json, node_modules), from the sources or from dist/. */
export const packageRoot = fileURLToPath(new URL(compiled ? '../../' : '../', import.meta.url));

/** The Node flags that load a module of this tree: tsx for the sources, none for dist/. */
export const LOADER_FLAGS: readonly string[] = compiled ? [] : ['--import', 'tsx'];

/** A module of this tree by its path from the root without extension: `entryPoint('api/main')` is api/main.ts, or dist/api/main.js. */
export function entryPoint(path: string): string {
  return fileURLToPath(new URL(`../${path}${compiled ? '.js' : '.ts'}`, import.meta.url));
}
