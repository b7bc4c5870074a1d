import { IsNull, type EntityManager } from 'typeorm';
import { affectedRows } from '../../lib/db.js';
import { DeprecationEntity, WebhookEntity, type WebhookEvent } from './webhook.entity.js';

/** SQL of webhooks and published deprecations. Every method runs on the manager it is given. */
export const webhookStore = {
  webhooks(tx: EntityManager): Promise<WebhookEntity[]> {
    return tx.find(WebhookEntity, { order: { createdAt: 'ASC' } });
  },

  async subscribers(tx: EntityManager, event: WebhookEvent): Promise<WebhookEntity[]> {
    return (await this.webhooks(tx)).filter((w) => w.events.includes(event));
  },

  webhook(tx: EntityManager, id: string): Promise<WebhookEntity | null> {
    return tx.findOneBy(WebhookEntity, { id });
  },

  async insertWebhook(tx: EntityManager, row: WebhookEntity): Promise<void> {
    await tx.insert(WebhookEntity, row);
  },

  async deleteWebhook(tx: EntityManager, id: string): Promise<boolean> {
    return affectedRows(await tx.query('DELETE FROM webhooks WHERE id = ?', [id])) > 0;
  },

  /** The subgraph's deprecations still in force. */
  activeDeprecations(tx: EntityManager, subgraph: string): Promise<DeprecationEntity[]> {
    return tx.find(DeprecationEntity, { where: { subgraph, resolvedAt: IsNull() } });
  },

  /**
   * Records a published deprecation. One already in force keeps its first publication date (the
   * lint counts from it) and its notice unless the removal date moved; one deprecated anew starts over.
   */
  async upsertDeprecation(tx: EntityManager, row: Pick<DeprecationEntity, 'subgraph' | 'coordinate' | 'reason' | 'removalDate'>, at: Date): Promise<void> {
    await tx.query(
      `INSERT INTO deprecations (subgraph, coordinate, reason, removal_date, first_published_at, resolved_at, notified_at)
       VALUES (?, ?, ?, ?, ?, NULL, NULL)
       ON DUPLICATE KEY UPDATE
         notified_at = IF(resolved_at IS NULL AND removal_date <=> VALUES(removal_date), notified_at, NULL),
         first_published_at = IF(resolved_at IS NULL, first_published_at, VALUES(first_published_at)),
         resolved_at = NULL,
         reason = VALUES(reason),
         removal_date = VALUES(removal_date)`,
      [row.subgraph, row.coordinate, row.reason, row.removalDate, at],
    );
  },

  async resolveDeprecations(tx: EntityManager, subgraph: string, coordinates: readonly string[], at: Date): Promise<void> {
    if (!coordinates.length) return;
    await tx.query(
      `UPDATE deprecations SET resolved_at = ? WHERE subgraph = ? AND resolved_at IS NULL AND coordinate IN (${coordinates.map(() => '?').join(', ')})`,
      [at, subgraph, ...coordinates],
    );
  },

  /** Deprecations in force whose removal date is on or before `dueBy` and whose notice has not gone out. */
  dueDeprecations(tx: EntityManager, dueBy: string): Promise<DeprecationEntity[]> {
    return tx
      .createQueryBuilder(DeprecationEntity, 'd')
      .where('d.resolved_at IS NULL AND d.notified_at IS NULL AND d.removal_date IS NOT NULL AND d.removal_date <= :dueBy', { dueBy })
      .orderBy('d.removal_date', 'ASC')
      .getMany();
  },

  /** Marks a notice sent; false when another run claimed it first. */
  async claimNotice(tx: EntityManager, subgraph: string, coordinate: string, at: Date): Promise<boolean> {
    return (
      affectedRows(await tx.query('UPDATE deprecations SET notified_at = ? WHERE subgraph = ? AND coordinate = ? AND notified_at IS NULL', [at, subgraph, coordinate])) === 1
    );
  },
};
