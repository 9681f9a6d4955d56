// Bulk query operations (https://shopify.dev/docs/api/usage/bulk-operations/queries): the query is validated like any other,
// then run in the background page by page into a JSONL file that this same server serves at the operation's `url`.
// Every node of a nested connection becomes its own line carrying `__parentId`. Faults (FAILED, partial data, EXPIRED,
// a truncated download) are armed by count from the scenario API.
import { createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { getNamedType, isObjectType, Kind, type DocumentNode, type GraphQLObjectType, type SelectionSetNode } from 'graphql';
import { collectFields, fieldDef } from './cost.js';
import { executeBulkPage, parseAndValidate } from './graphql.js';
import { adminSchema, connectionNodeType, isConnectionType } from './schema.js';
import { gid } from './shapes.js';
import type { Position } from './store.js';
import type { FakeShop } from './shop.js';

export type BulkStatus = 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELING' | 'CANCELED' | 'EXPIRED';
export type BulkFailure = 'FAILED' | 'PARTIAL' | 'EXPIRED';

export interface BulkOperation {
  id: number;
  status: BulkStatus;
  errorCode: 'ACCESS_DENIED' | 'INTERNAL_SERVER_ERROR' | 'TIMEOUT' | null;
  createdAt: number;
  completedAt: number | null;
  objectCount: number;
  rootObjectCount: number;
  fileSize: number | null;
  url: string | null;
  partialDataUrl: string | null;
  query: string;
}

interface UserError {
  field: string[] | null;
  message: string;
  code: 'OPERATION_IN_PROGRESS' | 'INVALID' | 'LIMIT_REACHED';
}

/** Where each nested connection sits in a node's JSON, so result pages can be cut into lines. */
interface Shape {
  hasId: boolean;
  connections: { key: string; nodesKey: string | null; edgesKey: string | null; nodeKey: string | null; child: Shape }[];
}

const PAGE_SIZE = 250;
const MAX_CONCURRENT = 5;
const MAX_CONNECTIONS = 5;
const MAX_DEPTH = 2;
/** Result URLs stop working seven days after completion. */
const URL_LIFETIME_MS = 7 * 86_400_000;

export interface BulkDownload {
  file: string;
  expired: boolean;
  truncate: boolean;
}

export class BulkRunner {
  private readonly ops: BulkOperation[] = [];
  private readonly files = new Map<string, { op: BulkOperation; file: string }>();
  private readonly failures: BulkFailure[] = [];
  private truncations = 0;
  private readonly running = new Set<Promise<void>>();
  private nextId = 1;

  constructor(
    private readonly shop: FakeShop,
    private readonly dir: () => string,
  ) {}

  list(): BulkOperation[] {
    return [...this.ops];
  }

  get(id: number): BulkOperation | undefined {
    return this.ops.find((o) => o.id === id);
  }

  failNext(kind: BulkFailure, count = 1): void {
    for (let i = 0; i < count; i++) this.failures.push(kind);
  }

  truncateNext(count = 1): void {
    this.truncations += count;
  }

  /** Resolves when no bulk operation is running (tests await this instead of sleeping). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }

  has(key: string): boolean {
    return this.files.has(key);
  }

  download(key: string): BulkDownload | null {
    const entry = this.files.get(key);
    if (!entry) return null;
    const expired = entry.op.completedAt !== null && this.shop.now() > entry.op.completedAt + URL_LIFETIME_MS;
    let truncate = false;
    if (!expired && this.truncations > 0) {
      this.truncations--;
      truncate = true;
    }
    return { file: entry.file, expired, truncate };
  }

  runQuery(query: string, opts: { groupObjects: boolean; granted: Set<string> }): { operation: BulkOperation | null; userErrors: UserError[] } {
    const invalid = (message: string) => ({ operation: null, userErrors: [{ field: ['query'], message, code: 'INVALID' as const }] });
    const parsed = parseAndValidate(query);
    if (!parsed.document) return invalid(`Invalid bulk query: ${String(parsed.errors?.[0]?.message ?? 'syntax error')}`);
    const shape = this.shapeOf(parsed.document);
    if (typeof shape === 'string') return invalid(shape);
    const active = this.ops.filter((o) => o.status === 'CREATED' || o.status === 'RUNNING' || o.status === 'CANCELING').length;
    if (active >= MAX_CONCURRENT) {
      return {
        operation: null,
        userErrors: [{ field: null, message: `A maximum of ${MAX_CONCURRENT} bulk query operations can run at the same time for this app and shop.`, code: 'LIMIT_REACHED' }],
      };
    }
    const op: BulkOperation = {
      id: this.shop.nextBulkId(this.nextId++),
      status: 'CREATED',
      errorCode: null,
      createdAt: this.shop.now(),
      completedAt: null,
      objectCount: 0,
      rootObjectCount: 0,
      fileSize: null,
      url: null,
      partialDataUrl: null,
      query,
    };
    this.ops.push(op);
    const failure = this.failures.shift() ?? null;
    const run = this.run(op, parsed.document, shape, opts.granted, failure).finally(() => this.running.delete(run));
    this.running.add(run);
    return { operation: { ...op }, userErrors: [] };
  }

  cancel(id: number): { operation: BulkOperation | null; userErrors: { field: string[]; message: string }[] } {
    const op = this.get(id);
    if (!op) return { operation: null, userErrors: [{ field: ['id'], message: 'Bulk operation does not exist' }] };
    if (op.status !== 'CREATED' && op.status !== 'RUNNING') {
      return { operation: { ...op }, userErrors: [{ field: ['id'], message: `A bulk operation cannot be canceled when it is ${op.status.toLowerCase()}` }] };
    }
    op.status = 'CANCELING';
    return { operation: { ...op }, userErrors: [] };
  }

  /** Checks Shopify's bulk rules and maps where the connections are; a string is the reason the query is refused. */
  private shapeOf(document: DocumentNode): { rootKey: string; root: Shape } | string {
    const { schema } = adminSchema();
    const ops = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    if (ops.length !== 1 || ops[0].kind !== Kind.OPERATION_DEFINITION || ops[0].operation !== 'query') {
      return 'Invalid bulk query: the bulk query must contain exactly one query operation.';
    }
    const fragments = Object.fromEntries(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d]] : [])));
    const input = { schema, fragments, variables: {} };
    const query = schema.getQueryType()!;
    const top = [...collectFields(input, query, ops[0].selectionSet)];
    if (top.length !== 1) return 'Invalid bulk query: bulk queries must have exactly one top-level field.';
    const [rootKey, rootNodes] = top[0];
    const def = fieldDef(schema, query, rootNodes[0].name.value)!;
    const type = getNamedType(def.type);
    if (!isConnectionType(type)) return `Invalid bulk query: Bulk queries must contain at least one connection.`;
    if (rootNodes[0].name.value !== 'customers') {
      return `Invalid bulk query: the development Shopify runs bulk queries over customers only, not ${rootNodes[0].name.value}.`;
    }
    let connections = 1;
    const build = (conn: GraphQLObjectType, selection: SelectionSetNode | undefined, depth: number): Shape | string => {
      const nodeType = connectionNodeType(conn);
      if (!isObjectType(nodeType)) return 'Invalid bulk query: connections over interfaces are not supported by the development Shopify.';
      let nodesKey: string | null = null;
      let edgesKey: string | null = null;
      let nodeKey: string | null = null;
      let nodeSelection: SelectionSetNode[] = [];
      for (const [key, nodes] of collectFields(input, conn, selection)) {
        const name = nodes[0].name.value;
        if (name === 'nodes') {
          nodesKey = key;
          nodeSelection = nodeSelection.concat(nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : [])));
        } else if (name === 'edges') {
          edgesKey = key;
          const edgeType = getNamedType(conn.getFields().edges.type) as GraphQLObjectType;
          for (const n of nodes) {
            for (const [ek, en] of collectFields(input, edgeType, n.selectionSet)) {
              if (en[0].name.value !== 'node') continue;
              nodeKey = ek;
              nodeSelection = nodeSelection.concat(en.flatMap((x) => (x.selectionSet ? [x.selectionSet] : [])));
            }
          }
        }
      }
      const merged: SelectionSetNode = { kind: Kind.SELECTION_SET, selections: nodeSelection.flatMap((s) => s.selections) };
      const shape: Shape = { hasId: false, connections: [] };
      for (const [key, nodes] of collectFields(input, nodeType, merged)) {
        const f = fieldDef(schema, nodeType, nodes[0].name.value);
        if (!f) continue;
        if (nodes[0].name.value === 'id' && key === 'id') shape.hasId = true;
        const t = getNamedType(f.type);
        if (!isConnectionType(t)) continue;
        connections++;
        if (depth + 1 > MAX_DEPTH) return `Invalid bulk query: Bulk queries cannot contain connections with a nesting depth greater than ${MAX_DEPTH}.`;
        const sub: SelectionSetNode = { kind: Kind.SELECTION_SET, selections: nodes.flatMap((n) => n.selectionSet?.selections ?? []) };
        const child = build(t, sub, depth + 1);
        if (typeof child === 'string') return child;
        shape.connections.push({ key, ...childKeys(child) });
      }
      if (shape.connections.length && !shape.hasId) {
        return `Invalid bulk query: The parent 'node' field for a nested connection must select the 'id' field. Connection fields without 'id': ${shape.connections.map((c) => c.key).join(', ')}.`;
      }
      return Object.assign(shape, { nodesKey, edgesKey, nodeKey });
    };
    const root = build(type, rootNodes[0].selectionSet, 1);
    if (typeof root === 'string') return root;
    if (connections > MAX_CONNECTIONS) return `Invalid bulk query: Bulk queries cannot contain more than ${MAX_CONNECTIONS} connections.`;
    return { rootKey, root };
  }

  private async run(op: BulkOperation, document: DocumentNode, plan: { rootKey: string; root: Shape }, granted: Set<string>, failure: BulkFailure | null): Promise<void> {
    // Let the mutation's answer (status CREATED) go out before any work starts.
    await new Promise((r) => setImmediate(r));
    if (op.status === 'CANCELING') return this.finish(op, 'CANCELED', null);
    op.status = 'RUNNING';
    const key = randomBytes(12).toString('hex');
    const file = path.join(this.dir(), `bulk-${this.shop.domain}-${op.id}-${key}.jsonl`);
    const out = createWriteStream(file);
    let after: Position | null = null;
    let failed: BulkOperation['errorCode'] = null;
    try {
      for (;;) {
        if ((op.status as BulkStatus) === 'CANCELING') break;
        const page = executeBulkPage(this.shop, document, granted, after, PAGE_SIZE);
        const errors = page.result.errors ?? [];
        if (errors.length) {
          failed = errors.some((e) => e.extensions?.code === 'ACCESS_DENIED') ? 'ACCESS_DENIED' : 'INTERNAL_SERVER_ERROR';
          break;
        }
        const data = page.result.data as Record<string, unknown>;
        let roots = rootNodes(data[plan.rootKey], plan.root);
        if (failure === 'PARTIAL') roots = roots.slice(0, Math.ceil(roots.length / 2));
        const lines: string[] = [];
        for (const node of roots) {
          op.rootObjectCount++;
          op.objectCount += linesOf(node, plan.root, null, lines);
        }
        if (!out.write(lines.join(''))) await new Promise<void>((r) => out.once('drain', () => r()));
        if (failure === 'FAILED' || failure === 'PARTIAL') {
          failed = failure === 'PARTIAL' ? 'TIMEOUT' : 'INTERNAL_SERVER_ERROR';
          break;
        }
        if (!page.hasNext) break;
        after = page.last;
        await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      failed = 'INTERNAL_SERVER_ERROR';
      process.emitWarning(`fake Shopify bulk operation ${op.id} failed: ${(err as Error).message}`);
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const size = out.bytesWritten;
    if ((op.status as BulkStatus) === 'CANCELING') return this.finish(op, 'CANCELED', null);
    if (failure === 'EXPIRED') return this.finish(op, 'EXPIRED', null);
    if (failed) {
      if (failure === 'PARTIAL' && size > 0) {
        this.files.set(key, { op, file });
        op.partialDataUrl = this.shop.bulkUrl(key);
      }
      return this.finish(op, 'FAILED', failed);
    }
    this.files.set(key, { op, file });
    op.fileSize = size;
    // Shopify gives no URL when the query matched nothing.
    op.url = op.objectCount > 0 ? this.shop.bulkUrl(key) : null;
    this.finish(op, 'COMPLETED', null);
  }

  private finish(op: BulkOperation, status: BulkStatus, errorCode: BulkOperation['errorCode']): void {
    op.status = status;
    op.errorCode = errorCode;
    op.completedAt = this.shop.now();
    void this.shop.webhooks.emit('bulk_operations/finish', {
      admin_graphql_api_id: gid('BulkOperation', op.id),
      completed_at: this.shop.localTime(op.completedAt),
      created_at: this.shop.localTime(op.createdAt),
      error_code: errorCode ? errorCode.toLowerCase() : null,
      status: status.toLowerCase(),
      type: 'query',
    });
  }
}

function childKeys(child: Shape & { nodesKey?: string | null; edgesKey?: string | null; nodeKey?: string | null }) {
  return { nodesKey: child.nodesKey ?? null, edgesKey: child.edgesKey ?? null, nodeKey: child.nodeKey ?? null, child };
}

type ShapeWithKeys = Shape & { nodesKey?: string | null; edgesKey?: string | null; nodeKey?: string | null };

function rootNodes(value: unknown, shape: ShapeWithKeys): Record<string, unknown>[] {
  return nodesOf(value, shape.nodesKey ?? null, shape.edgesKey ?? null, shape.nodeKey ?? null);
}

function nodesOf(value: unknown, nodesKey: string | null, edgesKey: string | null, nodeKey: string | null): Record<string, unknown>[] {
  if (!value || typeof value !== 'object') return [];
  const v = value as Record<string, unknown>;
  if (nodesKey && Array.isArray(v[nodesKey])) return v[nodesKey] as Record<string, unknown>[];
  if (edgesKey && nodeKey && Array.isArray(v[edgesKey])) return (v[edgesKey] as Record<string, unknown>[]).map((e) => e[nodeKey] as Record<string, unknown>);
  return [];
}

/** A node without its nested connections as one line, then each nested node on its own line pointing back with `__parentId`. */
function linesOf(node: Record<string, unknown>, shape: Shape, parentId: string | null, out: string[]): number {
  let line: Record<string, unknown> = node;
  if (shape.connections.length || parentId !== null) {
    line = {};
    const nested = new Set(shape.connections.map((c) => c.key));
    for (const [k, v] of Object.entries(node)) if (!nested.has(k)) line[k] = v;
    if (parentId !== null) line.__parentId = parentId;
  }
  out.push(`${JSON.stringify(line)}\n`);
  let count = 1;
  for (const c of shape.connections) {
    for (const child of nodesOf(node[c.key], c.nodesKey, c.edgesKey, c.nodeKey)) count += linesOf(child, c.child, String(node.id), out);
  }
  return count;
}
