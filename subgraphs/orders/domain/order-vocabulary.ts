/** The order lifecycle's vocabulary, shared by the rules, the entities and the schema's enums. */
export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED', 'PARTIALLY_FULFILLED', 'FULFILLED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const FULFILMENT_METHODS = ['SHIP', 'PICKUP'] as const;
export type FulfilmentMethod = (typeof FULFILMENT_METHODS)[number];
/**
 * What an order's reservation is for: LIVE, a buyer at the channel now (placeOrder); SOLD, a sale
 * the channel already made (placeSoldOrder: marketplace intake), past the channel's buffer, cap and
 * protection; SOLD_ANY_LOCATION, as SOLD and from any active shipping location (the REALLOCATE policy).
 */
export const ORDER_SOURCINGS = ['LIVE', 'SOLD', 'SOLD_ANY_LOCATION'] as const;
export type OrderSourcing = (typeof ORDER_SOURCINGS)[number];
/** Lifecycle steps recorded before inventory is told, and whether inventory has applied them. */
export const OPERATION_KINDS = ['FULFIL', 'CANCEL', 'RETURN'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];
export type OperationState = 'PENDING' | 'DONE';
