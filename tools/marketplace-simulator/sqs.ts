import { createHash, randomUUID } from 'node:crypto';
import aws4 from 'aws4';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountState, SimOrder, SimState } from './state.js';

/**
 * Amazon's ORDER_CHANGE notifications, delivered as SP-API does: into the seller's Amazon SQS queue
 * (one per account here, `<simulator>/000000000000/<account>`), read with the SQS JSON protocol
 * (`POST /`, `X-Amz-Target: AmazonSQS.ReceiveMessage` / `AmazonSQS.DeleteMessageBatch`, signed with
 * AWS Signature Version 4 by the account's key, see awsCredentialsFor). A message stays invisible for
 * its VisibilityTimeout once received and comes back unless deleted; SQS may deliver it more than
 * once. The payload is the order-level ORDER_CHANGE (payload version 1.0) with its Summary's
 * OrderItems, so a client needs no getOrderItems call.
 */

/** The AWS key pair the simulator expects an account's SQS calls to be signed with. */
export function awsCredentialsFor(account: string): { awsAccessKeyId: string; awsSecretAccessKey: string } {
  const id = createHash('sha256').update(account).digest('hex').slice(0, 16).toUpperCase();
  return { awsAccessKeyId: `AKIASIM${id}`, awsSecretAccessKey: `sim-aws-secret-${account}` };
}

export interface QueuedMessage {
  id: string;
  body: string;
  /** Not delivered before this (epoch ms): the notification's delay, then each receipt's visibility timeout. */
  visibleAt: number;
  receipt: string | null;
}

/** Queues the order's ORDER_CHANGE `delayMs` from now (Amazon's delivery delay). */
export function notifyOrderChange(acct: AccountState, order: SimOrder, delayMs: number, now = Date.now()): void {
  const body = {
    NotificationVersion: '1.0',
    NotificationType: 'ORDER_CHANGE',
    PayloadVersion: '1.0',
    EventTime: new Date(order.updatedAt).toISOString(),
    Payload: {
      OrderChangeNotification: {
        NotificationLevel: 'OrderLevel',
        SellerId: acct.account,
        AmazonOrderId: order.id,
        OrderChangeType: order.status === 'CANCELLED' && order.cancelledBy === 'BUYER' ? 'BuyerRequestedChange' : 'OrderStatusChange',
        OrderChangeTrigger: { TimeOfOrderChange: new Date(order.updatedAt).toISOString(), ChangeReason: order.status === 'CANCELLED' ? 'BuyerRequestedCancel' : 'NoPendingItems' },
        Summary: {
          MarketplaceId: 'A1F83G8C2ARO7P',
          OrderStatus: order.status === 'CANCELLED' ? 'Canceled' : 'Unshipped',
          PurchaseDate: new Date(order.placedAt).toISOString(),
          FulfillmentType: 'MFN',
          OrderType: 'StandardOrder',
          OrderItems: order.lines.map((l) => ({ OrderItemId: `${order.id}-${l.lineId}`, SellerSKU: l.sku, Quantity: l.quantity })),
        },
      },
    },
    NotificationMetadata: { ApplicationId: 'amzn1.sellerapps.app.sim', SubscriptionId: `sub-${acct.account}`, PublishTime: new Date(now + delayMs).toISOString(), NotificationId: randomUUID() },
  };
  acct.notifications.push({ id: randomUUID(), body: JSON.stringify(body), visibleAt: now + delayMs, receipt: null });
}

const sqsError = (reply: FastifyReply, status: number, type: string, message: string) =>
  reply.code(status).header('x-amzn-query-error', `${type};Sender`).send({ __type: `com.amazonaws.sqs#${type}`, message });

/**
 * `POST /`: the SQS JSON protocol for the accounts' queues. Answers 403 to a request not signed with
 * the queue's account key (a wrong key, a wrong signature, or none), 400 to a malformed one.
 */
export function sqsRoutes(state: SimState) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post('/', async (req: FastifyRequest, reply: FastifyReply) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = (typeof req.body === 'object' && req.body ? req.body : {}) as Record<string, unknown>;
      const queueUrl = typeof body.QueueUrl === 'string' ? body.QueueUrl : '';
      const account = decodeURIComponent(new URL(queueUrl || 'http://x/').pathname.split('/')[2] ?? '');
      if (!account) return sqsError(reply, 400, 'QueueDoesNotExist', 'The specified queue does not exist.');
      if (!signedBy(req, awsCredentialsFor(account))) return sqsError(reply, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      const acct = state.account('AMAZON', account);
      const now = Date.now();
      if (target === 'AmazonSQS.ReceiveMessage') {
        const max = Number(body.MaxNumberOfMessages ?? 1);
        const wait = Number(body.WaitTimeSeconds ?? 0);
        const visibility = Number(body.VisibilityTimeout ?? 30);
        if (!Number.isInteger(max) || max < 1 || max > 10) return sqsError(reply, 400, 'InvalidParameterValue', 'MaxNumberOfMessages must be between 1 and 10.');
        if (!Number.isInteger(wait) || wait < 0 || wait > 20) return sqsError(reply, 400, 'InvalidParameterValue', 'WaitTimeSeconds must be between 0 and 20.');
        // Long polling: answer as soon as a message is visible, or when the wait is over.
        const deadline = now + wait * 1000;
        for (;;) {
          const ready = acct.notifications.filter((m) => m.visibleAt <= Date.now()).slice(0, max);
          if (ready.length || Date.now() >= deadline || req.raw.destroyed) {
            for (const m of ready) {
              m.receipt = randomUUID();
              m.visibleAt = Date.now() + visibility * 1000;
            }
            return {
              Messages: ready.map((m) => ({ MessageId: m.id, ReceiptHandle: m.receipt, MD5OfBody: createHash('md5').update(m.body).digest('hex'), Body: m.body })),
            };
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      if (target === 'AmazonSQS.DeleteMessageBatch') {
        const entries = Array.isArray(body.Entries) ? (body.Entries as { Id?: string; ReceiptHandle?: string }[]) : [];
        if (!entries.length || entries.length > 10) return sqsError(reply, 400, 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 'A batch holds 1 to 10 entries.');
        const Successful: { Id: string }[] = [];
        const Failed: { Id: string; Code: string; SenderFault: boolean; Message: string }[] = [];
        for (const e of entries) {
          const i = acct.notifications.findIndex((m) => m.receipt !== null && m.receipt === e.ReceiptHandle);
          if (i >= 0) {
            acct.notifications.splice(i, 1);
            Successful.push({ Id: String(e.Id) });
          } else Failed.push({ Id: String(e.Id), Code: 'ReceiptHandleIsInvalid', SenderFault: true, Message: 'The receipt handle is not valid.' });
        }
        return { Successful, Failed };
      }
      return sqsError(reply, 400, 'InvalidAction', `The action ${target || '(none)'} is not valid for this endpoint.`);
    });
  };
}

/** Whether the request carries a Signature Version 4 of the account's key over what it says (recomputed with its own date). */
function signedBy(req: FastifyRequest, creds: { awsAccessKeyId: string; awsSecretAccessKey: string }): boolean {
  const auth = String(req.headers.authorization ?? '');
  const date = String(req.headers['x-amz-date'] ?? '');
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([a-z0-9-]+)\/sqs\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!match || match[1] !== creds.awsAccessKeyId || !date) return false;
  const raw = (req as FastifyRequest & { rawBody?: string }).rawBody ?? JSON.stringify(req.body);
  const signed = aws4.sign(
    {
      host: String(req.headers.host),
      method: 'POST',
      path: req.url,
      service: 'sqs',
      region: match[2],
      body: raw,
      headers: { 'content-type': String(req.headers['content-type']), 'x-amz-target': String(req.headers['x-amz-target'] ?? ''), 'x-amz-date': date },
    },
    { accessKeyId: creds.awsAccessKeyId, secretAccessKey: creds.awsSecretAccessKey },
  );
  return (signed.headers as Record<string, string>).Authorization === auth;
}
