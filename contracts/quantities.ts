import { z } from 'zod';

/** Inventory's bound on any one quantity (stock columns are signed 32-bit); every service checks it at its edge. */
export const MAX_QUANTITY = 1_000_000_000;

/** A positive whole number of units within MAX_QUANTITY. */
export const unitsSchema = z.number().int().min(1).max(MAX_QUANTITY);
