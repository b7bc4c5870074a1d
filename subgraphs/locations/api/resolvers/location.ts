import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { DateTime } from '../../../../lib/scalars.js';
import { assertId, isId } from '../../../../lib/validation.js';
import type { LocationsContext } from '../context.js';
import type { LocationEntity } from '../../data/location.entity.js';

export const locationResolvers: GraphQLResolverMap<LocationsContext> = {
  DateTime,
  Query: {
    location: (_: unknown, args: { id: string }, ctx: LocationsContext) => ctx.loaders.locationById.load(assertId(args.id)),
    locationByCode: (_: unknown, args: { code: string }, ctx: LocationsContext) => ctx.loaders.locationByCode.load(args.code),
    locations: (_: unknown, args: { filter?: unknown; first?: number; after?: string }, ctx: LocationsContext) =>
      ctx.locations.list(ctx.reads, args.filter, args.first, args.after),
    nearbyLocations: (
      _: unknown,
      args: { latitude: number; longitude: number; radiusKm: number; filter?: unknown; first?: number },
      ctx: LocationsContext,
    ) => ctx.locations.nearby(ctx.reads, args),
  },
  Mutation: {
    createLocation: (_: unknown, args: { input: never }, ctx: LocationsContext) => ctx.locations.create(args.input),
    updateLocation: (_: unknown, args: { id: string; input: never }, ctx: LocationsContext) =>
      ctx.locations.update(assertId(args.id), args.input),
  },
  Location: {
    __resolveReference: (ref: { id: unknown }, ctx: LocationsContext) =>
      isId(ref.id) ? ctx.loaders.locationById.load(ref.id) : null,
    address: (l: LocationEntity) => ({
      line1: l.addressLine1,
      line2: l.addressLine2,
      city: l.city,
      region: l.region,
      postalCode: l.postalCode,
      countryCode: l.countryCode,
    }),
    capabilities: (l: LocationEntity) => ({ ships: l.ships, pickup: l.pickup }),
  },
};
