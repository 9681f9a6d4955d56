// Shopify's own Admin API schema (introspection JSON) and the access scopes it documents per type and field.
// The file is ~850 KB gzipped and takes ~200 ms to build, so it is loaded once per process and shared by every fake server.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildClientSchema,
  getNamedType,
  isObjectType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';

export const ADMIN_API_VERSION = '2026-04';

const here = path.dirname(fileURLToPath(import.meta.url));
// Vendored beside this file (see schema/README.md) so a clean clone needs nothing else.
const DEFAULT_SCHEMA_FILE = path.join(here, 'schema', 'admin_2026-04.json.gz');

export function schemaFile(): string {
  return process.env.KIZUNA_SHOPIFY_SCHEMA ?? DEFAULT_SCHEMA_FILE;
}

interface ScopeItem {
  type: 'type' | 'field';
  typeName: string;
  fieldName?: string;
  offlineScopes: string[];
}

/** The vendored file (schema/README.md): an introspection answer, which buildClientSchema refuses when it has no __schema. */
interface SavedSchema {
  data: IntrospectionQuery;
  offline_scopes?: { items: ScopeItem[] };
}

export interface AdminSchema {
  schema: GraphQLSchema;
  /** `Type.field` → scopes of which any one grants access. */
  fieldScopes: Map<string, string[]>;
  /** type name → scopes of which any one grants access to objects of that type. */
  typeScopes: Map<string, string[]>;
}

let loaded: AdminSchema | undefined;

export function adminSchema(): AdminSchema {
  if (loaded) return loaded;
  const file = schemaFile();
  let raw: SavedSchema;
  try {
    raw = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as SavedSchema;
  } catch (err) {
    throw new Error(`fake Shopify: cannot load the Admin API schema from ${file} (set KIZUNA_SHOPIFY_SCHEMA): ${(err as Error).message}`);
  }
  const schema = buildClientSchema(raw.data, { assumeValid: true });
  const fieldScopes = new Map<string, string[]>();
  const typeScopes = new Map<string, string[]>();
  for (const item of raw.offline_scopes?.items ?? []) {
    if (!item.offlineScopes?.length) continue;
    if (item.type === 'type') typeScopes.set(item.typeName, item.offlineScopes);
    else if (item.fieldName) fieldScopes.set(`${item.typeName}.${item.fieldName}`, item.offlineScopes);
  }
  loaded = { schema, fieldScopes, typeScopes };
  return loaded;
}

/** Relay connections in Shopify's schema are the object types named `…Connection` with `nodes` and `pageInfo`. */
export function isConnectionType(type: GraphQLNamedType): type is GraphQLObjectType {
  if (!isObjectType(type) || !type.name.endsWith('Connection')) return false;
  const fields = type.getFields();
  return 'pageInfo' in fields && ('nodes' in fields || 'edges' in fields);
}

/** The item type of a connection (`CustomerConnection` → `Customer`). */
export function connectionNodeType(type: GraphQLObjectType): GraphQLNamedType {
  const fields = type.getFields();
  if (fields.nodes) return getNamedType(fields.nodes.type);
  const edge = getNamedType(fields.edges.type) as GraphQLObjectType;
  return getNamedType(edge.getFields().node.type);
}

export function isEdgeType(type: GraphQLNamedType): type is GraphQLObjectType {
  return isObjectType(type) && type.name.endsWith('Edge') && 'node' in type.getFields() && 'cursor' in type.getFields();
}

/**
 * Scopes that reading a field needs: the field's own, plus those of the object it returns (for a connection or an edge, of
 * its node) — Shopify denies `customers` as a whole without read_customers, and `lastOrder` without read_orders.
 * Each inner array is "any of"; every inner array must be satisfied.
 */
export function requiredScopes(parentType: string, fieldName: string, returnType: GraphQLOutputType): string[][] {
  const { fieldScopes, typeScopes } = adminSchema();
  const needs: string[][] = [];
  const own = fieldScopes.get(`${parentType}.${fieldName}`);
  if (own) needs.push(own);
  let named: GraphQLNamedType = getNamedType(returnType);
  if (isConnectionType(named)) named = connectionNodeType(named);
  else if (isEdgeType(named)) named = getNamedType(named.getFields().node.type);
  const ofType = typeScopes.get(named.name);
  if (ofType) needs.push(ofType);
  return needs;
}

/** Shopify grants read access with the matching write scope. */
export function expandScopes(granted: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const s of granted) {
    out.add(s);
    if (s.startsWith('write_')) out.add(`read_${s.slice('write_'.length)}`);
  }
  return out;
}
