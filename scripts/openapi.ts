// Prints the OpenAPI document (`npm run -s openapi > openapi.json`) without a running stack: the app is built, not started.
import { gatewayDocument } from '../api/apiDocs.js';
import { unstartedApp } from '../api/unstartedApp.js';

const { app, close } = unstartedApp();
process.stdout.write(JSON.stringify(gatewayDocument(app), null, 2) + '\n');
await close();
