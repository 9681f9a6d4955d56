// Query cost by Shopify's documented rules (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits):
// scalars and enums 0, objects 1, interfaces/unions the maximum of their possible selections, connections 2 plus
// `first`/`last` × the cost of one node, mutations 10. The requested cost is computed before execution from the document;
// the actual cost afterwards from what was really returned (a page of 3 customers costs 2 + 3, not 2 + first).
import {
  GraphQLError,
  getArgumentValues,
  getNamedType,
  isAbstractType,
  isLeafType,
  isObjectType,
  isListType,
  isNonNullType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
} from 'graphql';
import { connectionNodeType, isConnectionType } from './schema.js';

export const MAX_SINGLE_QUERY_COST = 1000;
export const MAX_PAGE_SIZE = 250;
export const MUTATION_COST = 10;

export interface CostInput {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  /** Bulk queries page through everything: connections there need no `first`/`last`. */
  bulk?: boolean;
}

type FieldMap = Map<string, FieldNode[]>;

/** Fields selected on `type`, merged by response key, honouring fragments and @skip/@include. */
export function collectFields(
  input: Pick<CostInput, 'schema' | 'fragments' | 'variables'>,
  type: GraphQLObjectType,
  selectionSet: SelectionSetNode | undefined,
  into: FieldMap = new Map(),
  visited: Set<string> = new Set(),
): FieldMap {
  if (!selectionSet) return into;
  for (const sel of selectionSet.selections) {
    if (!included(sel.directives, input.variables)) continue;
    if (sel.kind === Kind.FIELD) {
      const key = sel.alias?.value ?? sel.name.value;
      const list = into.get(key);
      if (list) list.push(sel);
      else into.set(key, [sel]);
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      if (!sel.typeCondition || applies(input.schema, sel.typeCondition.name.value, type)) {
        collectFields(input, type, sel.selectionSet, into, visited);
      }
    } else if (sel.kind === Kind.FRAGMENT_SPREAD) {
      const name = sel.name.value;
      if (visited.has(name)) continue;
      const frag = input.fragments[name];
      if (!frag || !applies(input.schema, frag.typeCondition.name.value, type)) continue;
      visited.add(name);
      collectFields(input, type, frag.selectionSet, into, visited);
    }
  }
  return into;
}

function included(directives: FieldNode['directives'], variables: Record<string, unknown>): boolean {
  for (const d of directives ?? []) {
    const name = d.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const arg = d.arguments?.find((a) => a.name.value === 'if');
    if (!arg) continue;
    const value = arg.value.kind === Kind.VARIABLE ? Boolean(variables[arg.value.name.value]) : arg.value.kind === Kind.BOOLEAN && arg.value.value;
    if (name === 'skip' && value) return false;
    if (name === 'include' && !value) return false;
  }
  return true;
}

function applies(schema: GraphQLSchema, condition: string, type: GraphQLObjectType): boolean {
  if (condition === type.name) return true;
  const cond = schema.getType(condition);
  return !!cond && isAbstractType(cond) && schema.isSubType(cond, type);
}

export function fieldDef(schema: GraphQLSchema, parent: GraphQLObjectType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === '__typename') return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType()) {
    if (name === '__schema') return SchemaMetaFieldDef;
    if (name === '__type') return TypeMetaFieldDef;
  }
  return parent.getFields()[name];
}

function mergedSelection(nodes: FieldNode[]): SelectionSetNode | undefined {
  const sets = nodes.map((n) => n.selectionSet).filter((s): s is SelectionSetNode => !!s);
  if (sets.length <= 1) return sets[0];
  return { kind: Kind.SELECTION_SET, selections: sets.flatMap((s) => s.selections) };
}

/** Concrete types a selection on `type` may run against; interfaces and unions cost their most expensive member. */
function concreteTypes(schema: GraphQLSchema, type: GraphQLNamedType): readonly GraphQLObjectType[] {
  if (isObjectType(type)) return [type];
  if (isAbstractType(type)) return schema.getPossibleTypes(type);
  return [];
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

export interface RequestedCost {
  cost: number;
  errors: GraphQLError[];
}

/** Cost before execution, plus Shopify's own refusals found on the way (a connection without `first`/`last`, a page over 250). */
export function requestedCost(input: CostInput): RequestedCost {
  const { schema, operation } = input;
  const errors = new Map<string, GraphQLError>();
  const root = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  if (!root) return { cost: 0, errors: [] };
  const isMutation = operation.operation === 'mutation';

  const selectionCost = (type: GraphQLNamedType, selectionSet: SelectionSetNode | undefined, path: string[]): number => {
    let max = 0;
    for (const concrete of concreteTypes(schema, type)) {
      let sum = 0;
      for (const [key, nodes] of collectFields(input, concrete, selectionSet)) {
        sum += fieldCost(concrete, key, nodes, [...path, key]);
      }
      if (sum > max) max = sum;
    }
    return max;
  };

  const fieldCost = (parent: GraphQLObjectType, _key: string, nodes: FieldNode[], path: string[]): number => {
    const def = fieldDef(schema, parent, nodes[0].name.value);
    if (!def) return 0;
    if (isMutation && parent === root) return MUTATION_COST;
    const named = getNamedType(def.type);
    if (isLeafType(named)) return 0;
    const selection = mergedSelection(nodes);
    if (isConnectionType(named)) {
      let size: number;
      try {
        const args = getArgumentValues(def, nodes[0], input.variables) as { first?: number | null; last?: number | null };
        size = pageSize(args, input.bulk, nodes[0], path, errors);
      } catch {
        size = 0; // argument coercion errors are reported by execution itself
      }
      return 2 + size * nodeCost(named, selection, path);
    }
    return 1 + selectionCost(named, selection, path);
  };

  const nodeCost = (connection: GraphQLObjectType, selection: SelectionSetNode | undefined, path: string[]): number => {
    const nodeType = connectionNodeType(connection);
    const fields = collectFields(input, connection, selection);
    let cost = 0;
    for (const [key, nodes] of fields) {
      const name = nodes[0].name.value;
      if (name === 'nodes') cost = Math.max(cost, 1 + selectionCost(nodeType, mergedSelection(nodes), [...path, key]));
      if (name === 'edges') {
        const edgeType = getNamedType(connection.getFields().edges.type) as GraphQLObjectType;
        for (const [edgeKey, edgeNodes] of collectFields(input, edgeType, mergedSelection(nodes))) {
          if (edgeNodes[0].name.value !== 'node') continue;
          cost = Math.max(cost, 1 + selectionCost(nodeType, mergedSelection(edgeNodes), [...path, key, edgeKey]));
        }
      }
    }
    return cost;
  };

  const cost = selectionCost(root, operation.selectionSet, []);
  return { cost, errors: [...errors.values()] };
}

function pageSize(
  args: { first?: number | null; last?: number | null },
  bulk: boolean | undefined,
  node: FieldNode,
  path: string[],
  errors: Map<string, GraphQLError>,
): number {
  const n = args.first ?? args.last;
  if (bulk) return n ?? 1;
  const report = (message: string) => {
    const key = `${message}@${node.loc?.start ?? path.join('.')}`;
    if (!errors.has(key)) errors.set(key, new GraphQLError(message, { nodes: node, path }));
  };
  if (n == null) {
    report('you must provide one of first or last');
    return 0;
  }
  if (args.first != null && args.last != null) report('providing both first and last is not supported');
  // Shopify refuses pages over 250 items; the wording of its message is not documented, the refusal is.
  if (n > MAX_PAGE_SIZE) report(`The page size (${n}) exceeds the maximum page size of ${MAX_PAGE_SIZE}.`);
  if (n < 0) report(`The page size (${n}) must be zero or more.`);
  return Math.max(0, n);
}

/**
 * Cost after execution, from the response data: connections count the nodes really returned. An empty page still costs
 * one node (Shopify reports actual 3 for `customers(first: 10)` returning nothing), and actual never exceeds requested.
 */
export function actualCost(input: CostInput, data: Record<string, unknown> | null | undefined): number {
  const { schema, operation } = input;
  const root = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  if (!root || !data) return 0;
  const isMutation = operation.operation === 'mutation';

  const selectionCost = (type: GraphQLNamedType, selectionSet: SelectionSetNode | undefined, value: Record<string, unknown>): number => {
    let max = 0;
    for (const concrete of concreteTypes(schema, type)) {
      if (typeof value.__typename === 'string' && value.__typename !== concrete.name) continue;
      let sum = 0;
      for (const [key, nodes] of collectFields(input, concrete, selectionSet)) {
        if (!(key in value)) continue;
        sum += fieldCost(concrete, nodes, value[key]);
      }
      if (sum > max) max = sum;
    }
    return max;
  };

  const fieldCost = (parent: GraphQLObjectType, nodes: FieldNode[], value: unknown): number => {
    const def = fieldDef(schema, parent, nodes[0].name.value);
    if (!def) return 0;
    if (isMutation && parent === root) return MUTATION_COST;
    const named = getNamedType(def.type);
    if (isLeafType(named)) return 0;
    const selection = mergedSelection(nodes);
    if (value == null || typeof value !== 'object') return isConnectionType(named) ? 0 : 1;
    if (isConnectionType(named)) {
      const nodeType = connectionNodeType(named);
      const fields = collectFields(input, named, selection);
      let total = 0;
      for (const [key, fnodes] of fields) {
        const name = fnodes[0].name.value;
        let sum = 0;
        if (name === 'nodes') {
          for (const item of ((value as Record<string, unknown>)[key] as Record<string, unknown>[] | null) ?? []) {
            sum += 1 + (item ? selectionCost(nodeType, mergedSelection(fnodes), item) : 0);
          }
        } else if (name === 'edges') {
          const edgeType = getNamedType(named.getFields().edges.type) as GraphQLObjectType;
          const edges = ((value as Record<string, unknown>)[key] as Record<string, unknown>[] | null) ?? [];
          for (const [edgeKey, edgeNodes] of collectFields(input, edgeType, mergedSelection(fnodes))) {
            if (edgeNodes[0].name.value !== 'node') continue;
            let s = 0;
            for (const edge of edges) {
              const node = edge?.[edgeKey] as Record<string, unknown> | null | undefined;
              s += 1 + (node ? selectionCost(nodeType, mergedSelection(edgeNodes), node) : 0);
            }
            sum = Math.max(sum, s);
          }
        }
        total = Math.max(total, sum);
      }
      return 2 + Math.max(1, total);
    }
    if (isList(def.type)) {
      let max = 0;
      for (const item of value as unknown[]) {
        if (item && typeof item === 'object') max = Math.max(max, selectionCost(named, selection, item as Record<string, unknown>));
      }
      return 1 + max;
    }
    return 1 + selectionCost(named, selection, value as Record<string, unknown>);
  };

  return selectionCost(root, operation.selectionSet, data);
}
