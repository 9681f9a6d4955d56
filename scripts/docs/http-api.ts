// docs/http-api.md's endpoint reference, rendered from the OpenAPI document the server serves at GET /api/docs (built by
// @fastify/swagger from each route's own schema), plus the routes that document hides (admin UI pages, the Shopify webhook),
// from the server's route catalogue. What a route declares is what gets published: add `summary`, `description`,
// `querystring`, `body` and `response` schemas to a route and they appear here after `npm run docs`.
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { systemClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import { buildServer } from '../../src/web/server.js';
import { code, replaceGenerated, table } from './markdown.js';
import type { ErrorCodeDoc } from './errors.js';
import { renderErrorTable } from './errors.js';

// The parts of OpenAPI 3.0 that fastify-swagger writes.
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  nullable?: boolean;
  description?: string;
  $ref?: string;
  additionalProperties?: boolean | JsonSchema;
  [constraint: string]: unknown;
}
interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  description?: string;
  schema?: JsonSchema;
}
interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; description?: string; content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: JsonSchema }> }>;
}
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  security?: Record<string, string[]>[];
  components?: { schemas?: Record<string, JsonSchema>; securitySchemes?: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
}
export interface CatalogueRoute {
  method: string;
  url: string;
  auth: string | undefined;
}

/**
 * The server exactly as `kizuna serve` builds it (buildServer), but with no database or job queue behind it: registering
 * routes touches neither, and the OpenAPI document only describes routes. test/docs/http-api.test.ts checks that this
 * document equals the one a server on a real database serves.
 */
export async function buildOfflineServer(): Promise<FastifyInstance> {
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const unavailable = new Proxy({}, { get: () => { throw new Error('the docs server has no database or job queue'); } });
  const ctx = {
    config,
    db: unavailable,
    boss: unavailable,
    secrets: unavailable,
    log: createLogger('silent'),
    clock: systemClock,
    workerId: 'docs',
  } as unknown as AppContext;
  const app = await buildServer(ctx, { logLevel: 'silent' });
  await app.ready();
  return app;
}

/** GET /api/docs and the route catalogue of a built server. */
export async function describeServer(app: FastifyInstance): Promise<{ openapi: OpenApiDocument; routes: CatalogueRoute[] }> {
  const res = await app.inject({ method: 'GET', url: '/api/docs' });
  if (res.statusCode !== 200) throw new Error(`GET /api/docs answered ${res.statusCode}: ${res.body.slice(0, 500)}`);
  return { openapi: res.json() as OpenApiDocument, routes: [...(app.routeCatalogue ?? [])] };
}

const METHOD_ORDER = ['get', 'post', 'put', 'patch', 'delete', 'options', 'head'];
const AUTH_WORDS: Record<string, string> = {
  tenant: 'API token (`Authorization: Bearer <apiToken>`) or an operator session cookie',
  page: 'operator session cookie (admin UI; redirects to /login without one)',
  'line-signature': 'none; the body must carry a valid `x-line-signature`',
  liff: 'none; the body carries a LIFF ID token',
  none: 'none',
};

/** `/api/v1/friends/{id}` → `/api/v1/friends/:id`, the route catalogue's spelling. */
const fastifyPath = (p: string) => p.replace(/\{([^}]+)\}/g, ':$1');

function group(path: string): string {
  const m = /^\/api\/v1\/(integrations\/[^/]+|[^/]+)/.exec(path);
  if (m) return `/api/v1/${m[1]}`;
  return `/${path.split('/')[1] ?? ''}`;
}

function resolve(schema: JsonSchema | undefined, doc: OpenApiDocument, seen = new Set<string>()): JsonSchema | undefined {
  if (!schema?.$ref) return schema;
  const name = schema.$ref.replace(/^#\/components\/schemas\//, '');
  if (seen.has(name)) return { type: name };
  seen.add(name);
  return resolve(doc.components?.schemas?.[name], doc, seen);
}

/** A schema as a short type: `string`, `integer[]`, `"a" | "b"`, `object`, `string or null`. */
export function typeOf(s: JsonSchema | undefined, doc: OpenApiDocument): string {
  const schema = resolve(s, doc);
  if (!schema) return 'any';
  let t: string;
  if (schema.const !== undefined) t = JSON.stringify(schema.const);
  else if (schema.enum) t = schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  else if (schema.anyOf ?? schema.oneOf) t = (schema.anyOf ?? schema.oneOf)!.map((x) => typeOf(x, doc)).join(' or ');
  else if (schema.type === 'array') t = `${typeOf(schema.items, doc)}[]`;
  else if (Array.isArray(schema.type)) t = schema.type.join(' or ');
  else t = schema.type ?? (schema.properties ? 'object' : 'any');
  return schema.nullable ? `${t} or null` : t;
}

const CONSTRAINTS = ['minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems', 'default'];

function constraints(s: JsonSchema | undefined, doc: OpenApiDocument): string {
  const schema = resolve(s, doc);
  if (!schema) return '';
  const parts = CONSTRAINTS.filter((k) => schema[k] !== undefined).map((k) => `${k} ${code(typeof schema[k] === 'string' ? (schema[k] as string) : JSON.stringify(schema[k]))}`);
  if (schema.additionalProperties === false) parts.push('no other properties');
  return parts.join(', ');
}

/** An object schema as rows of dotted property paths (`counts.fetched`, `items[].id`). */
function schemaRows(s: JsonSchema | undefined, doc: OpenApiDocument, prefix = '', depth = 0): string[][] {
  const schema = resolve(s, doc);
  if (!schema || depth > 6) return [];
  if (schema.type === 'array' && schema.items) return schemaRows(schema.items, doc, `${prefix}[]`, depth + 1);
  const rows: string[][] = [];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    const p = resolve(prop, doc);
    rows.push([code(path), typeOf(prop, doc), schema.required?.includes(name) ? 'yes' : 'no', [p?.description, constraints(prop, doc)].filter(Boolean).join('; ')]);
    rows.push(...schemaRows(prop, doc, path, depth + 1));
  }
  return rows;
}

function renderSchema(s: JsonSchema | undefined, doc: OpenApiDocument): string {
  const rows = schemaRows(s, doc);
  if (rows.length) return table(['property', 'type', 'required', 'notes'], rows);
  return `${code(typeOf(s, doc))}${constraints(s, doc) ? ` (${constraints(s, doc)})` : ''}`;
}

function renderOperation(method: string, path: string, op: Operation, doc: OpenApiDocument, authOf: (m: string, p: string) => string | undefined): string {
  const out = [`### ${code(`${method.toUpperCase()} ${path}`)}`, ''];
  if (op.summary) out.push(op.summary, '');
  if (op.description) out.push(op.description, '');
  const security = op.security ?? doc.security ?? [];
  const kind = authOf(method.toUpperCase(), fastifyPath(path));
  const bearer = kind ? kind === 'tenant' : security.length > 0;
  const auth = bearer ? AUTH_WORDS.tenant : ((kind && AUTH_WORDS[kind]) ?? 'none');
  const csrf = bearer && !['get', 'head', 'options'].includes(method) ? ' (with the session, also its CSRF token in `x-csrf-token`)' : '';
  out.push(`Auth: ${auth}${csrf}.`, '');
  const params = op.parameters ?? [];
  for (const where of ['path', 'query', 'header'] as const) {
    const ps = params.filter((p) => p.in === where);
    if (!ps.length) continue;
    out.push(
      `${where === 'path' ? 'Path' : where === 'query' ? 'Query' : 'Header'} parameters:`,
      '',
      table(
        ['name', 'type', 'required', 'notes'],
        ps.map((p) => [code(p.name), typeOf(p.schema, doc), p.required ? 'yes' : 'no', [p.description, constraints(p.schema, doc)].filter(Boolean).join('; ')]),
      ),
      '',
    );
  }
  for (const [type, media] of Object.entries(op.requestBody?.content ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`Request body (${code(type)}${op.requestBody?.required ? ', required' : ''}):`, '', renderSchema(media.schema, doc), '');
  }
  const responses = Object.entries(op.responses ?? {}).sort(([a], [b]) => a.localeCompare(b));
  // fastify-swagger writes `200: Default Response` for a route that declares no response schema: say so instead.
  const declared = !(responses.length === 1 && responses[0]![0] === '200' && responses[0]![1].description === 'Default Response' && !responses[0]![1].content);
  if (!declared) out.push('Response: not declared by the route; see [Response shapes](#response-shapes).', '');
  for (const [status, r] of declared ? responses : []) {
    const described = r.description && r.description !== 'Default Response' ? ` — ${r.description}` : '';
    const media = Object.entries(r.content ?? {}).sort(([a], [b]) => a.localeCompare(b));
    if (!media.length) {
      out.push(`Response ${code(status)}${described}: no schema declared.`, '');
      continue;
    }
    for (const [type, m] of media) out.push(`Response ${code(status)} (${code(type)})${described}:`, '', renderSchema(m.schema, doc), '');
  }
  return out.join('\n').trim();
}

/** The generated "endpoints" block: every documented operation, grouped by resource, sorted by path and method. */
export function renderEndpoints(doc: OpenApiDocument, routes: CatalogueRoute[]): string {
  const authOf = (method: string, url: string) => routes.find((r) => r.method === method && r.url === url)?.auth;
  const ops = Object.entries(doc.paths)
    .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
    .sort((a, b) => a.path.localeCompare(b.path) || METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method));
  const groups = [...new Set(ops.map((o) => group(o.path)))].sort();
  const index = table(
    ['method and path', 'summary'],
    ops.map((o) => [`[${code(`${o.method.toUpperCase()} ${o.path}`)}](#${anchor(`${o.method} ${o.path}`)})`, o.op.summary ?? '']),
  );
  const sections = groups.map((g) => [`## ${code(g)}`, '', ...ops.filter((o) => group(o.path) === g).map((o) => renderOperation(o.method, o.path, o.op, doc, authOf) + '\n')].join('\n').trim());
  return [index, ...sections].join('\n\n');
}

/** The generated "hidden-routes" block: routes the server has that the OpenAPI document leaves out. */
export function renderHiddenRoutes(doc: OpenApiDocument, routes: CatalogueRoute[]): string {
  const documented = new Set(Object.entries(doc.paths).flatMap(([p, ms]) => Object.keys(ms).map((m) => `${m.toUpperCase()} ${fastifyPath(p)}`)));
  const hidden = routes
    .filter((r) => !documented.has(`${r.method} ${r.url}`) && r.url !== '/api/docs')
    .sort((a, b) => a.url.localeCompare(b.url) || METHOD_ORDER.indexOf(a.method.toLowerCase()) - METHOD_ORDER.indexOf(b.method.toLowerCase()));
  const seen = new Set<string>();
  const rows = hidden.filter((r) => !seen.has(`${r.method} ${r.url}`) && seen.add(`${r.method} ${r.url}`));
  return table(['method and path', 'auth'], rows.map((r) => [code(`${r.method} ${r.url}`), r.auth ? (AUTH_WORDS[r.auth] ?? r.auth) : 'not declared by the route (see below)']));
}

/** GitHub's anchor of an operation heading (`GET /api/v1/friends/{id}` → get-apiv1friendsid). */
function anchor(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-');
}

/** docs/http-api.md with its three generated blocks rewritten from a server's description and the error catalogue. */
export function renderHttpApiDoc(text: string, server: { openapi: OpenApiDocument; routes: CatalogueRoute[] }, codes: ErrorCodeDoc[]): string {
  let out = replaceGenerated(text, 'endpoints', renderEndpoints(server.openapi, server.routes), 'docs/http-api.md');
  out = replaceGenerated(out, 'hidden-routes', renderHiddenRoutes(server.openapi, server.routes), 'docs/http-api.md');
  return replaceGenerated(out, 'error-codes', renderErrorTable(codes), 'docs/http-api.md');
}
