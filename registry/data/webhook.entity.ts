import { Column, Entity, PrimaryColumn } from 'typeorm';

export const WEBHOOK_EVENTS = ['SCHEMA_PUBLISHED', 'DEPRECATION_REMOVAL_DUE'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** A subscriber to registry events; deliveries are signed with its secret. */
@Entity({ name: 'webhooks' })
export class WebhookEntity {
  @PrimaryColumn({ type: 'char', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 1000 })
  url!: string;

  /** The HMAC key (needed in the clear to sign); shown once, when the webhook is added. */
  @Column({ type: 'varchar', length: 200 })
  secret!: string;

  @Column({
    type: 'text',
    transformer: {
      to: (value: WebhookEvent[] | undefined) => (value === undefined ? undefined : JSON.stringify(value)),
      from: (value: string) => JSON.parse(value) as WebhookEvent[],
    },
  })
  events!: WebhookEvent[];

  @Column({ name: 'created_by', type: 'varchar', length: 200 })
  createdBy!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}

/** A published `@deprecated`: when it was first published (the lint's 90 days count from it) and whether its removal notice went out. */
@Entity({ name: 'deprecations' })
export class DeprecationEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  subgraph!: string;

  @PrimaryColumn({ type: 'varchar', length: 500 })
  coordinate!: string;

  @Column({ type: 'text' })
  reason!: string;

  /** YYYY-MM-DD, from the reason's `Removal:`. */
  @Column({ name: 'removal_date', type: 'date', nullable: true })
  removalDate!: string | null;

  @Column({ name: 'first_published_at', type: 'datetime', precision: 3 })
  firstPublishedAt!: Date;

  /** When the deprecated thing was removed or un-deprecated. */
  @Column({ name: 'resolved_at', type: 'datetime', precision: 3, nullable: true })
  resolvedAt!: Date | null;

  @Column({ name: 'notified_at', type: 'datetime', precision: 3, nullable: true })
  notifiedAt!: Date | null;
}
