import type { ChannelRule } from './stock.js';

/**
 * A channel's available-to-sell: the summed available of its active sources, less its buffer
 * (units, or a percentage rounded up so a buffer never rounds to nothing) and what protection
 * withholds of the SKU (contracts/protection.ts), capped by its cap.
 */
export function availableToSell(sumAvailable: number, rule: Pick<ChannelRule, 'buffer' | 'cap'>, withheld = 0): number {
  let ats = sumAvailable - Math.max(0, withheld);
  if (rule.buffer?.kind === 'UNITS') ats -= rule.buffer.value;
  if (rule.buffer?.kind === 'PERCENT') ats -= Math.ceil((sumAvailable * rule.buffer.value) / 100);
  ats = Math.max(0, ats);
  return rule.cap === null ? ats : Math.min(ats, rule.cap);
}

export interface AllocationRequest {
  sku: string;
  quantity: number;
  /** Where the caller wants it; otherwise the channel's sources decide. */
  locationId: string | null;
}

export interface Allocation {
  sku: string;
  locationId: string;
  quantity: number;
}

export interface ShortLine {
  sku: string;
  locationId: string | null;
  requested: number;
  available: number;
}

export interface AllocationInput {
  lines: AllocationRequest[];
  /** The channel's sellable sources in serving order. */
  sources: string[];
  /** Available per `sku \0 locationId`, from levels locked for the transaction. */
  available: Map<string, number>;
  rule: Pick<ChannelRule, 'buffer' | 'cap' | 'allowSplitShipments'>;
  /** Units protection withholds per SKU from lines placed by the channel's rule (absent: none). */
  withheld?: ReadonlyMap<string, number>;
}

const k = (sku: string, locationId: string) => `${sku}\u0000${locationId}`;

/**
 * Decides where every line is reserved, or which lines are short (then nothing is reserved).
 * Lines naming a location take from it alone; the others take from the channel's sources by
 * priority, within the channel's available-to-sell (buffer, protection, cap), from one source unless the rule allows splits.
 * Lines draw on one shared pool, so two lines never count the same unit.
 */
export function allocate(input: AllocationInput): { allocations: Allocation[]; short: ShortLine[] } {
  const left = new Map(input.available);
  const atsLeft = new Map<string, number>();
  const atsOf = (sku: string) => {
    if (!atsLeft.has(sku)) {
      const sum = input.sources.reduce((acc, loc) => acc + (left.get(k(sku, loc)) ?? 0), 0);
      atsLeft.set(sku, availableToSell(sum, input.rule, input.withheld?.get(sku)));
    }
    return atsLeft.get(sku)!;
  };
  const take = (sku: string, locationId: string, quantity: number) => {
    left.set(k(sku, locationId), (left.get(k(sku, locationId)) ?? 0) - quantity);
    allocations.push({ sku, locationId, quantity });
  };
  const allocations: Allocation[] = [];
  const short: ShortLine[] = [];

  // Pinned lines first: they cannot go elsewhere, the others can.
  const ordered = [...input.lines].sort((a, b) => Number(b.locationId !== null) - Number(a.locationId !== null));
  for (const line of ordered) {
    if (line.locationId !== null) {
      const have = left.get(k(line.sku, line.locationId)) ?? 0;
      if (line.quantity > have) short.push({ sku: line.sku, locationId: line.locationId, requested: line.quantity, available: have });
      else take(line.sku, line.locationId, line.quantity);
      continue;
    }
    const ats = atsOf(line.sku);
    const candidates = input.sources.map((loc) => ({ loc, have: Math.max(0, left.get(k(line.sku, loc)) ?? 0) }));
    if (input.rule.allowSplitShipments) {
      if (line.quantity > ats) {
        short.push({ sku: line.sku, locationId: null, requested: line.quantity, available: ats });
        continue;
      }
      let remaining = line.quantity;
      for (const c of candidates) {
        if (remaining === 0) break;
        const q = Math.min(remaining, c.have);
        if (q > 0) take(line.sku, c.loc, q);
        remaining -= q;
      }
    } else {
      const single = candidates.find((c) => c.have >= line.quantity);
      if (!single || line.quantity > ats) {
        const best = Math.min(ats, Math.max(0, ...candidates.map((c) => c.have)));
        short.push({ sku: line.sku, locationId: null, requested: line.quantity, available: best });
        continue;
      }
      take(line.sku, single.loc, line.quantity);
    }
    atsLeft.set(line.sku, ats - line.quantity);
  }
  return short.length ? { allocations: [], short } : { allocations, short };
}
