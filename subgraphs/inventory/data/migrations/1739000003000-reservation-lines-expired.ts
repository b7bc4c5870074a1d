import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The open reservation lines past their expiry, found by range: a page of a location's levels
 * subtracts what they still count in `reserved` with one look-up for the whole page
 * (stockLevelStore.firstPerLocation) rather than one per level. Normally a handful of rows: the
 * expiry job releases them every RESERVATION_EXPIRY_INTERVAL_MS.
 */
export class ReservationLinesExpired1739000003000 implements MigrationInterface {
  name = 'ReservationLinesExpired1739000003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE reservation_lines ADD KEY ix_reservation_lines_expired (open, expires_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE reservation_lines DROP KEY ix_reservation_lines_expired');
  }
}
