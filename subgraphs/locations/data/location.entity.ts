import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../../../lib/db.js';

export const LOCATION_TYPES = ['STORE', 'WAREHOUSE', 'DISTRIBUTION_CENTER', 'DROP_SHIP_VENDOR'] as const;
export type LocationType = (typeof LOCATION_TYPES)[number];
export const LOCATION_STATUSES = ['ACTIVE', 'OFFLINE', 'CLOSED'] as const;
export type LocationStatus = (typeof LOCATION_STATUSES)[number];

@Entity({ name: 'locations' })
@Index('ix_locations_geo', ['latitude', 'longitude'])
@Index('ix_locations_city', ['city'])
export class LocationEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Index('ux_locations_code', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  code!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 32 })
  type!: LocationType;

  @Column({ type: 'varchar', length: 16 })
  status!: LocationStatus;

  @Column({ name: 'address_line1', type: 'varchar', length: 200 })
  addressLine1!: string;

  @Column({ name: 'address_line2', type: 'varchar', length: 200, nullable: true })
  addressLine2!: string | null;

  @Column({ type: 'varchar', length: 100 })
  city!: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  region!: string | null;

  @Column({ name: 'postal_code', type: 'varchar', length: 20 })
  postalCode!: string;

  @Column({ name: 'country_code', type: 'char', length: 2 })
  countryCode!: string;

  @Column({ type: 'varchar', length: 64 })
  timezone!: string;

  @Column({ type: 'double', nullable: true })
  latitude!: number | null;

  @Column({ type: 'double', nullable: true })
  longitude!: number | null;

  @Column({ type: 'boolean' })
  ships!: boolean;

  @Column({ type: 'boolean' })
  pickup!: boolean;

  /** Bumped by every write; orders the snapshots the location emits. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  version!: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
