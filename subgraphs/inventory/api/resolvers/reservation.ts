import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { assertId } from '../../../../lib/validation.js';
import type { ChannelAvailability, ReadConsistency } from '../../services/availability.service.js';
import { requesterOf, type InventoryContext } from '../context.js';
import type { ReservationLineEntity } from '../../data/reservation.entity.js';
import { isExpired, openQuantity, visibleStatus } from '../../domain/reservation-rules.js';
import type { ReservationView } from '../../services/reservation.service.js';
import { locationRef } from './stock.js';

/** An availability's locations, each with its location's name (or why it has none) for Location.name. */
function named(a: ChannelAvailability, names: readonly (string | null | Error)[]) {
  return a.locations.map((l, i) => {
    const name = names[i];
    return {
      available: l.available,
      pickup: l.pickup,
      location: typeof name === 'string' ? { __typename: 'Location' as const, id: l.locationId, name } : { __typename: 'Location' as const, id: l.locationId, nameError: name instanceof Error ? name : null },
    };
  });
}

export const reservationResolvers = {
  Query: {
    reservation: (_: unknown, args: { id: string }, ctx: InventoryContext) => ctx.loaders.reservationById.load(assertId(args.id)),
    /** Unless the root value brings the entries already read (api/availability-answers.ts runs the query over those it has kept nothing for). */
    availability: (root: { availability?: unknown } | undefined, args: { channelId: string; skus: string[]; consistency?: ReadConsistency | null }, ctx: InventoryContext) =>
      root?.availability ?? ctx.availability.forChannel(args.channelId, args.skus, { consistency: args.consistency, reads: ctx.reads }),
  },
  Mutation: {
    reserveStock: (_: unknown, args: { input: unknown }, ctx: InventoryContext) => ctx.reservations.reserve(args.input, ctx.clientId, requesterOf(ctx)),
    reserveSoldStock: (_: unknown, args: { input: unknown; anyLocation?: boolean | null }, ctx: InventoryContext) =>
      ctx.reservations.reserve(args.input, ctx.clientId, requesterOf(ctx), args.anyLocation ? 'SOLD_ANY_LOCATION' : 'SOLD'),
    releaseReservation: (_: unknown, args: { id: string }, ctx: InventoryContext) => ctx.reservations.release(assertId(args.id), requesterOf(ctx)),
    extendReservation: (_: unknown, args: { id: string; ttlSeconds?: number | null }, ctx: InventoryContext) =>
      ctx.reservations.extend(assertId(args.id), args.ttlSeconds ?? null, requesterOf(ctx)),
    commitReservation: (_: unknown, args: { input: unknown }, ctx: InventoryContext) => ctx.reservations.commit(args.input, ctx.clientId, requesterOf(ctx)),
  },
  Reservation: {
    // Past its expiry a reservation holds nothing, whether or not the expiry job has run yet.
    status: (r: ReservationView) => visibleStatus(r, new Date()),
    pickupLocation: (r: ReservationView) => (r.pickupLocationId ? locationRef(r.pickupLocationId) : null),
    lines: (r: ReservationView) => {
      const expired = isExpired(r, new Date());
      return r.lines.map((l) => Object.assign(Object.create(l) as ReservationLineEntity, { openQuantity: expired ? 0 : openQuantity(l) }));
    },
  },
  ReservationLine: {
    item: (l: ReservationLineEntity, _args: unknown, ctx: InventoryContext) => ctx.loaders.itemBySku.load(l.sku),
    location: (l: ReservationLineEntity) => locationRef(l.locationId),
  },
  ChannelAvailability: {
    item: (a: ChannelAvailability, _args: unknown, ctx: InventoryContext) => ctx.loaders.itemBySku.load(a.sku),
    /**
     * With their names (provided: see Location.name), read once per entry so that each name
     * resolves at once; a name that could not be read fails only where it is asked for. Kept names
     * answer synchronously: a storefront's 20 SKUs by 28 locations make no promise here.
     */
    locations: (a: ChannelAvailability, _args: unknown, ctx: InventoryContext) => {
      const names = ctx.loaders.locationNames(a.locations.map((l) => l.locationId));
      return Array.isArray(names) ? named(a, names) : names.then((loaded) => named(a, loaded));
    },
  },
} satisfies GraphQLResolverMap<InventoryContext>;
