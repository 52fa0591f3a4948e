/**
 * Imported first by worker/main.ts, before Temporal's activity context and
 * Baileys make their AsyncLocalStorage instances: with one per socket, every
 * await in a worker holding many sessions would get slower with each session
 * and each reconnection (see worker/sharedAsyncLocalStorage.ts).
 */
import { installSharedAsyncLocalStorage } from './sharedAsyncLocalStorage.js';

installSharedAsyncLocalStorage();
