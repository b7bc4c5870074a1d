import aws4 from 'aws4';
import { z } from 'zod';
import { parseBody, raiseForStatus, send, type HttpClient } from '../http.js';
import type { Connection, MarketplaceOrder } from '../types.js';

/**
 * Amazon's fast path for orders: SP-API sends an ORDER_CHANGE notification (order level, with its
 * items) to the seller's Amazon SQS queue within moments of a change, where getOrders shows it about
 * two minutes later and then costs a getOrderItems call per order (0.5 a second). The queue is read
 * with the SQS JSON protocol, signed with AWS Signature Version 4 (the `aws4` library) by the key in
 * the connection's secret (`awsAccessKeyId`, `awsSecretAccessKey`). SQS delivers at least once and
 * in no particular order: intake takes an order in once however often it comes, and getOrders
 * polling stays as the backfill for a notification that never came.
 * https://developer-docs.amazon.com/sp-api/docs/notification-type-values (ORDER_CHANGE, payload 1.0)
 */

const settingsSchema = z.object({ notificationQueueUrl: z.url() });
const credentialsSchema = z.object({ awsAccessKeyId: z.string().min(1), awsSecretAccessKey: z.string().min(1), awsRegion: z.string().min(1).optional() });

const receiveSchema = z.object({
  Messages: z.array(z.object({ MessageId: z.string(), ReceiptHandle: z.string(), Body: z.string() })).optional(),
});
const deleteSchema = z.object({ Failed: z.array(z.object({ Id: z.string(), Message: z.string().optional() })).optional() });

const orderChangeSchema = z.object({
  NotificationType: z.string(),
  EventTime: z.iso.datetime(),
  Payload: z.object({
    OrderChangeNotification: z.object({
      AmazonOrderId: z.string().min(1),
      Summary: z.object({
        OrderStatus: z.string(),
        PurchaseDate: z.iso.datetime(),
        OrderItems: z.array(z.object({ OrderItemId: z.string(), SellerSKU: z.string().nullish(), Quantity: z.number().int() })),
      }),
    }),
  }),
});

/** One receive's notifications: the orders they carry, and every message's receipt (to delete once they are taken in). */
export interface NotificationBatch {
  orders: MarketplaceOrder[];
  receipts: string[];
}

export interface NotificationQueue {
  /** Waits up to `waitSeconds` (0-20, SQS long polling) for up to 10 messages. @throws the contract's marketplace errors */
  receive(opts: { waitSeconds: number; signal?: AbortSignal }): Promise<NotificationBatch>;
  /** Deletes handled messages (up to 10 per call). */
  remove(receipts: readonly string[], signal?: AbortSignal): Promise<void>;
}

/** The order an ORDER_CHANGE carries; null for another notification type or a body we cannot read (deleted unread). */
export function orderOfNotification(body: string): MarketplaceOrder | null {
  let parsed;
  try {
    parsed = orderChangeSchema.safeParse(JSON.parse(body));
  } catch {
    return null;
  }
  if (!parsed.success || parsed.data.NotificationType !== 'ORDER_CHANGE') return null;
  const n = parsed.data.Payload.OrderChangeNotification;
  return {
    orderId: n.AmazonOrderId,
    status: n.Summary.OrderStatus === 'Canceled' ? 'CANCELLED' : 'OPEN',
    placedAt: new Date(n.Summary.PurchaseDate),
    updatedAt: new Date(parsed.data.EventTime),
    lines: n.Summary.OrderItems.map((i) => ({ lineId: i.OrderItemId, marketplaceSku: i.SellerSKU ?? '', quantity: i.Quantity })),
  };
}

/** The queue a connection's settings name, or null when it has none (polling alone). @throws ZodError for credentials without an AWS key */
export function createAmazonNotificationQueue(connection: Connection, http: HttpClient): NotificationQueue | null {
  const settings = settingsSchema.safeParse(connection.settings);
  if (!settings.success) return null;
  const queueUrl = settings.data.notificationQueueUrl;
  const creds = credentialsSchema.parse(connection.credentials);
  const url = new URL(queueUrl);
  // sqs.<region>.amazonaws.com names its region; another host (a simulator) takes the secret's, or us-east-1.
  const region = /^sqs\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1] ?? creds.awsRegion ?? 'us-east-1';
  const call = async (action: 'ReceiveMessage' | 'DeleteMessageBatch', payload: Record<string, unknown>, signal?: AbortSignal) => {
    const body = JSON.stringify({ QueueUrl: queueUrl, ...payload });
    const signed = aws4.sign(
      { host: url.host, method: 'POST', path: '/', service: 'sqs', region, body, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${action}` } },
      { accessKeyId: creds.awsAccessKeyId, secretAccessKey: creds.awsSecretAccessKey },
    );
    // fetch sets Host and Content-Length itself, to the values signed.
    const headers = Object.fromEntries(Object.entries(signed.headers as Record<string, string>).filter(([k]) => !/^(host|content-length)$/i.test(k)));
    const res = await send(http, `${url.origin}/`, { method: 'POST', headers, body, signal }, `Amazon SQS ${action}`);
    raiseForStatus(res, `Amazon SQS ${action}`, 1000);
    return res;
  };
  return {
    async receive({ waitSeconds, signal }) {
      const res = await call('ReceiveMessage', { MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds, VisibilityTimeout: 60 }, signal);
      const messages = parseBody(receiveSchema, res, 'Amazon SQS ReceiveMessage').Messages ?? [];
      return { orders: messages.map((m) => orderOfNotification(m.Body)).filter((o): o is MarketplaceOrder => o !== null), receipts: messages.map((m) => m.ReceiptHandle) };
    },
    async remove(receipts, signal) {
      for (let i = 0; i < receipts.length; i += 10) {
        const entries = receipts.slice(i, i + 10).map((ReceiptHandle, j) => ({ Id: String(j), ReceiptHandle }));
        const res = await call('DeleteMessageBatch', { Entries: entries }, signal);
        // A message not deleted comes back after its visibility timeout: taking it in again changes nothing.
        parseBody(deleteSchema, res, 'Amazon SQS DeleteMessageBatch');
      }
    },
  };
}
