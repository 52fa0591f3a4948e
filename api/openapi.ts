/**
 * The OpenAPI 3.1 document, built from the app itself: every route the Express
 * app serves is found by walking its routers; its parameters and body are the
 * zod schemas route() validates the request with (attached to the handler),
 * and its summary, examples and own responses come from the route docs
 * (api/docs/), keyed by method and path. test/openapi.test.ts fails on a
 * served route without docs and on docs of a route that is not served.
 */
import type { Express } from 'express';
import { z } from 'zod';
import type { ErrorCode } from '../lib/errorCodes.js';
import { instanceIdSchema } from './schemas.js';

type Schema = z.ZodType;

/** One response as documented: a description, and an example body (JSON unless `contentType` says otherwise). */
export type ResponseDoc = string | { description: string; example?: unknown; contentType?: string };

export interface RouteDoc {
  summary: string;
  description?: string;
  /** Grouping in the docs page; by default from the path (`.../messages/chat` → Messages). */
  tag?: string;
  /** An example request body, from the reference where it has one. */
  example?: unknown;
  /** Example values of path and query parameters. */
  parameters?: Record<string, unknown>;
  /** Request headers the route reads. */
  headers?: Record<string, { description: string; example?: string }>;
  /** Query parameters the handler requires though its schema lets them be absent (to word the error itself). */
  required?: string[];
  /** A body that is not JSON (an upload): its media type and JSON Schema. */
  requestBody?: { contentType: string; schema: Record<string, unknown> };
  /** By status. The common errors (400 for a route with schemas, 401, 403 and 429 on `/api`, 404 of an unknown instance, 500, 503) are added. */
  responses: Record<number, ResponseDoc>;
  /** Readable without the API token. */
  public?: boolean;
  /** Another token than the API's (`/metrics`): the security scheme's name. */
  security?: string;
}

/** Route docs by `METHOD /path` in Express's syntax, e.g. `GET /api/instance/:instanceId/status`. */
export type RouteDocs = Record<string, RouteDoc>;

export const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

export type RouteSchemas = { params?: Schema; query?: Schema; body?: Schema };

const SCHEMAS = Symbol('route schemas');

/** Attaches the schemas a handler validates with, where the document finds them. */
export function attachMeta<H>(handler: H, schemas: RouteSchemas): H {
  (handler as H & { [SCHEMAS]?: RouteSchemas })[SCHEMAS] = schemas;
  return handler;
}

const schemasOf = (handler: unknown): RouteSchemas | undefined => (handler as { [SCHEMAS]?: RouteSchemas } | undefined)?.[SCHEMAS];

/** A route the app serves: its method, its full path in Express's syntax, and its handlers. */
export interface ServedRoute {
  method: string;
  path: string;
  handlers: unknown[];
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean>; stack: { handle: unknown }[] };
  handle?: { stack?: Layer[] };
  rawPath?: string | string[];
  slash?: boolean;
}

/** Walks the app's routers (Express 5) for every method and path it serves. */
export function servedRoutes(app: Express): ServedRoute[] {
  const found: ServedRoute[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const path of [layer.route.path].flat()) {
          for (const [method, on] of Object.entries(layer.route.methods)) {
            if (on && method !== '_all') found.push({ method, path: join(prefix, path), handlers: layer.route.stack.map((l) => l.handle) });
          }
        }
      } else if (layer.handle?.stack) {
        const mount = layer.slash || typeof layer.rawPath !== 'string' ? '' : layer.rawPath;
        walk(layer.handle.stack, join(prefix, mount));
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found;
}

const join = (prefix: string, path: string) => (prefix + (path === '/' ? '' : path)).replace(/\/+/g, '/') || '/';

/** `/api/instance/:instanceId/chats` → `/api/instance/{instanceId}/chats` */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

const jsonSchema = (schema: Schema) => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return rest;
};

const errorExample = (status: number, error: string, code: ErrorCode) => ({ description: `${status}`, example: { error, code } });

/** The errors every route may answer with; a route's own docs add or override. */
function commonErrors(path: string, schemas: RouteSchemas, doc: RouteDoc | undefined): Record<number, ResponseDoc> {
  const errors: Record<number, ResponseDoc> = {};
  if (schemas.params || schemas.query || schemas.body) errors[400] = errorExample(400, 'to is required', 'BAD_REQUEST');
  if (path.startsWith('/api/') && !doc?.public) {
    errors[401] = errorExample(401, 'missing or invalid API token', 'UNAUTHORIZED');
    errors[403] = errorExample(403, 'this token is for instance shop only', 'WRONG_INSTANCE');
    errors[429] = errorExample(429, 'rate limit exceeded, retry in 12 s', 'RATE_LIMITED');
  }
  if (path.startsWith('/api/instance/:instanceId')) errors[404] = errorExample(404, 'instance shop not found', 'INSTANCE_NOT_FOUND');
  errors[500] = errorExample(500, 'internal error', 'INTERNAL');
  errors[503] = errorExample(503, 'database unavailable', 'DATABASE_UNAVAILABLE');
  return errors;
}

const DESCRIPTIONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted, not done yet',
  204: 'No content',
  400: 'Invalid input: the message names the field',
  401: 'Missing, invalid or revoked token',
  403: 'The token may not do this (another instance, or a scope it lacks)',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Too large',
  422: 'WhatsApp refused it',
  429: 'Rate limit exceeded (see Retry-After)',
  500: 'Internal error (never with details)',
  503: 'A dependency (Postgres, Temporal, WhatsApp session) is unavailable; retry',
};

function responseObject(status: number, doc: ResponseDoc) {
  const { description, example, contentType } = typeof doc === 'string' ? { description: doc } : doc;
  const text = description === String(status) ? (DESCRIPTIONS[status] ?? description) : description;
  if (status >= 400) {
    return {
      description: text,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, ...(example ? { example } : {}) } },
    };
  }
  if (example === undefined && !contentType) return { description: text };
  const type = contentType ?? 'application/json';
  return { description: text, content: { [type]: example === undefined ? {} : { example } } };
}

const TAG_NAMES: Record<string, string> = {
  instance: 'Instances',
  messages: 'Sending',
  chats: 'Chats',
  contacts: 'Contacts',
  groups: 'Groups',
  media: 'Media',
  chatbot: 'Chatbot',
  bulk: 'Campaigns',
  scheduled: 'Scheduled messages',
  settings: 'Settings',
  webhooks: 'Webhooks',
  events: 'Event streams',
  optouts: 'Opt-outs',
  tokens: 'Tokens',
};

const TAG_ORDER = [
  'Instances',
  'Sending',
  'History',
  'Status',
  'Chats',
  'Contacts',
  'Groups',
  'Labels',
  'Channels',
  'Media',
  'Settings',
  'Webhooks',
  'Event streams',
  'Campaigns',
  'Scheduled messages',
  'Opt-outs',
  'Chatbot',
  'Flows',
  'Tokens',
  'Operations',
];

function tagOf(path: string): string {
  const segments = path.split('/').filter(Boolean);
  if (segments[0] !== 'api') return segments[0] === 'media' ? 'Media' : 'Operations';
  if (segments[1] === 'instance' && segments[2] === ':instanceId' && segments[3]) {
    // `/chats/messages` is a history read.
    return TAG_NAMES[segments[3] === 'clear' ? 'instance' : segments[3]] ?? 'Instances';
  }
  return TAG_NAMES[segments[1]!] ?? 'Operations';
}

function parameters(path: string, schemas: RouteSchemas, doc: RouteDoc | undefined) {
  const examples = doc?.parameters ?? {};
  const pathSchema = schemas.params ? jsonSchema(schemas.params) : undefined;
  const out: Record<string, unknown>[] = [];
  for (const [, name] of path.matchAll(/:(\w+)/g)) {
    const own = (pathSchema?.properties as Record<string, unknown> | undefined)?.[name!];
    const schema = own ?? (name === 'instanceId' ? jsonSchema(instanceIdSchema) : { type: 'string' });
    // The instance every gateway has from its first start, so that "Try it out" works as it is.
    const example = examples[name!] ?? (name === 'instanceId' ? 'default' : undefined);
    out.push({ name, in: 'path', required: true, schema, ...(example !== undefined ? { example } : {}) });
  }
  if (schemas.query) {
    const query = jsonSchema(schemas.query);
    const required = new Set([...((query.required as string[] | undefined) ?? []), ...(doc?.required ?? [])]);
    for (const [name, schema] of Object.entries((query.properties as Record<string, Record<string, unknown>>) ?? {})) {
      const { description, ...rest } = schema;
      out.push({
        name,
        in: 'query',
        required: required.has(name),
        ...(description ? { description } : {}),
        schema: rest,
        ...(examples[name] !== undefined ? { example: examples[name] } : {}),
      });
    }
  }
  for (const [name, header] of Object.entries(doc?.headers ?? {})) {
    out.push({
      name,
      in: 'header',
      required: false,
      description: header.description,
      schema: { type: 'string' },
      ...(header.example ? { example: header.example } : {}),
    });
  }
  return out;
}

const operationId = (method: string, path: string) =>
  method +
  path
    .split('/')
    .filter((s) => s && s !== 'api' && s !== ':instanceId')
    .map((s) => (s.startsWith(':') ? `By${s[1]!.toUpperCase()}${s.slice(2)}` : s[0]!.toUpperCase() + s.slice(1)))
    .join('')
    .replace(/[^A-Za-z0-9]/g, '');

export interface DocumentInfo {
  version: string;
  docs: RouteDocs;
}

/** The schemas of the route's last handler that has any (the one route() made). */
const routeSchemas = (route: ServedRoute): RouteSchemas => route.handlers.map(schemasOf).filter(Boolean).pop() ?? {};

/** Served routes without docs, and docs of routes not served: both empty when the document is whole. */
export function documentationGaps(app: Express, docs: RouteDocs): { undocumented: string[]; unserved: string[] } {
  const served = new Set(servedRoutes(app).map((r) => routeKey(r.method, r.path)));
  return {
    undocumented: [...served].filter((key) => !docs[key]),
    unserved: Object.keys(docs).filter((key) => !served.has(key)),
  };
}

const hasRequired = (schema: Record<string, unknown>) => Array.isArray(schema.required) && schema.required.length > 0;

/** The OpenAPI 3.1 document of every route `app` serves. A route without docs is listed as "Undocumented". */
export function openApiDocument(app: Express, info: DocumentInfo) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of servedRoutes(app)) {
    const schemas = routeSchemas(route);
    const doc = info.docs[routeKey(route.method, route.path)];
    const responses: Record<string, unknown> = {};
    const all = { ...commonErrors(route.path, schemas, doc), ...(doc?.responses ?? { 200: 'OK' }) };
    for (const status of Object.keys(all).map(Number).sort()) responses[String(status)] = responseObject(status, all[status]!);
    const bodySchema = schemas.body ? jsonSchema(schemas.body) : undefined;
    const body = bodySchema
      ? {
          required: hasRequired(bodySchema),
          content: { 'application/json': { schema: bodySchema, ...(doc?.example !== undefined ? { example: doc.example } : {}) } },
        }
      : doc?.requestBody
        ? { required: true, content: { [doc.requestBody.contentType]: { schema: doc.requestBody.schema } } }
        : undefined;
    const params = parameters(route.path, schemas, doc);
    const security = doc?.public ? [] : doc?.security ? [{ [doc.security]: [] }] : undefined;
    (paths[openApiPath(route.path)] ??= {})[route.method] = {
      operationId: operationId(route.method, route.path),
      tags: [doc?.tag ?? tagOf(route.path)],
      summary: doc?.summary ?? 'Undocumented',
      ...(doc?.description ? { description: doc.description } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(body ? { requestBody: body } : {}),
      responses,
      ...(security ? { security } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'WhatsApp HTTP gateway',
      version: info.version,
      description: [
        'Send and receive WhatsApp messages over REST: instances (one per WhatsApp number), sends through a durable outbox,',
        'history, chats, contacts, groups, media, campaigns, scheduled messages, keyword auto-replies and signed webhooks.',
        '',
        'Every `/api` request carries a token in one of three ways: `Authorization: Bearer TOKEN`, `X-Api-Key: TOKEN`',
        'or `?token=TOKEN`. The admin token reaches everything; an instance token only its own instance, within its scopes.',
        'Errors are always `{ "error": "...", "code": "..." }`.',
      ].join('\n'),
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { apiKey: [] }, { tokenQuery: [] }],
    tags: TAG_ORDER.map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer TOKEN' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        tokenQuery: { type: 'apiKey', in: 'query', name: 'token' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN (the admin token when unset)' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: { type: 'string', description: 'What went wrong, in plain words; names the field for invalid input' },
            code: { type: 'string', description: 'A stable code, e.g. INSTANCE_NOT_FOUND' },
          },
        },
      },
    },
  };
}
