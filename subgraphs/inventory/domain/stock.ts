import type { ChannelSnapshot, LocationSnapshot } from '../../../contracts/events.js';

/**
 * Inventory's vocabulary, free of the database: the rules are written against these shapes, and the
 * entities and stores implement them.
 */

/** Quantities of one SKU at one location; every change bumps `version` for compare-and-set. */
export interface StockLevel {
  sku: string;
  locationId: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  incoming: number;
  damaged: number;
  qualityControl: number;
  version: number;
  updatedAt: Date;
  /**
   * On a level read for a write: the soonest expiry among the reservations `reserved` counts (null:
   * none expires). Available rises then with no change of the level; its stock event carries it.
   */
  nextExpiry?: Date | null;
}

export interface LevelKey {
  sku: string;
  locationId: string;
}

/** Signed changes of a level's counters, applied in SQL. */
export interface LevelDelta {
  onHand?: number;
  reserved?: number;
  safetyStock?: number;
  incoming?: number;
  damaged?: number;
  qualityControl?: number;
}

export const MOVEMENT_TYPES = ['RECEIPT', 'SALE', 'RETURN', 'TRANSFER_OUT', 'TRANSFER_IN', 'ADJUSTMENT', 'CYCLE_COUNT', 'FULFILMENT'] as const;
export type MovementType = (typeof MOVEMENT_TYPES)[number];

export const ADJUSTMENT_REASONS = ['CYCLE_COUNT', 'SHRINKAGE', 'DAMAGE', 'CORRECTION', 'FOUND'] as const;
export type AdjustmentReason = (typeof ADJUSTMENT_REASONS)[number];

export type TransferStatus = 'IN_TRANSIT' | 'RECEIVED';

/** Stock on its way between two locations: out of the source's on-hand, in the destination's incoming. */
export interface Transfer {
  id: string;
  sku: string;
  fromLocationId: string;
  toLocationId: string;
  quantity: number;
  receivedQuantity: number;
  status: TransferStatus;
}

/** A source location of a channel, as inventory's replica knows it. */
export interface ReplicaSource {
  locationId: string;
  priority: number;
  /** Null when the location's own snapshot has not arrived yet: treated as not sellable. */
  status: LocationSnapshot['status'] | null;
  pickup: boolean;
}

/** A channel's allocation rule, as inventory's replica knows it. */
export interface ChannelRule {
  channelId: string;
  status: ChannelSnapshot['status'];
  buffer: ChannelSnapshot['buffer'];
  cap: number | null;
  allowSplitShipments: boolean;
  protection: ChannelSnapshot['protection'];
  sources: ReplicaSource[];
}

export type ReservationStatus = 'ACTIVE' | 'COMMITTED' | 'RELEASED' | 'EXPIRED';

/** A reservation's state as its rules see it. */
export interface ReservationState {
  id: string;
  status: ReservationStatus;
  /** Null once the order it holds stock for is confirmed: it never expires. */
  expiresAt: Date | null;
  /** The client that made it (its owner); null when made without one. */
  actor: string | null;
}

/** What one reservation line holds at one location: `quantity` less what shipped and what was given back. */
export interface ReservationLine {
  sku: string;
  locationId: string;
  quantity: number;
  committedQuantity: number;
  releasedQuantity: number;
  open: boolean;
}
