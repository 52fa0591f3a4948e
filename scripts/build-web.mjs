// `npm run build:web`: the dashboard's files, web/dist/ (Vite), put in place whole once built.
import { buildDashboard } from './bootstrap.mjs';

process.exit(buildDashboard() ? 0 : 1);
