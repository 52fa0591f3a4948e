import { ensureDependencies } from './bootstrap.mjs';

ensureDependencies();
const { register } = await import('tsx/esm/api');
register();
await import('../stack/main.ts');
