import { Kind, type GraphQLResolveInfo } from 'graphql';
import type { InventoryContext } from '../context.js';
import type { InventoryItemEntity } from '../../data/item.entity.js';

/** What the gateway asks of an item to fetch other subgraphs' fields of it (orders' openOrderQuantity, a partner's price): its key. */
const KEY_FIELDS = new Set(['sku', '__typename']);

/**
 * The item of a row whose SKU a foreign key ties to inventory_items (stock levels). When the query
 * asks nothing of it but its key, as the gateway does on its way to another subgraph's fields, the
 * SKU the row holds is the answer: no load and no promise per row (a location's 1,000 levels with
 * their open-order quantity). Anything else loads the item.
 */
export function itemOfKeyedRow(sku: string, info: GraphQLResolveInfo, ctx: InventoryContext): { sku: string } | Promise<InventoryItemEntity | null> {
  const keyOnly = info.fieldNodes.every((node) => node.selectionSet?.selections.every((s) => s.kind === Kind.FIELD && KEY_FIELDS.has(s.name.value)) ?? true);
  return keyOnly ? { sku } : ctx.loaders.itemBySku.load(sku);
}
