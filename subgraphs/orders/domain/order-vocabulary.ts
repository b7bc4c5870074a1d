/** The order lifecycle's vocabulary, shared by the rules, the entities and the schema's enums. */
export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED', 'PARTIALLY_FULFILLED', 'FULFILLED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const FULFILMENT_METHODS = ['SHIP', 'PICKUP'] as const;
export type FulfilmentMethod = (typeof FULFILMENT_METHODS)[number];
/** What an order's reservation is for (contracts/inventory-client.ts Sourcing): a live buyer, or a sale the channel already made. */
export type { Sourcing as OrderSourcing } from '../../../contracts/inventory-client.js';
/** Lifecycle steps recorded before inventory is told, and whether inventory has applied them. */
export const OPERATION_KINDS = ['FULFIL', 'CANCEL', 'RETURN'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];
export type OperationState = 'PENDING' | 'DONE';
