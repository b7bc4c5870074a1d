import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboxRelay, relayLockName, type OutboxRelayOptions } from '../lib/outbox-relay.js';
import { config } from '../lib/config.js';
import { eventKeys } from '../lib/event-stream.js';
import { nudgeRelayOnCommit, outboxStore, type OutboxEvent } from '../lib/outbox.js';
import { createRedis, redisTarget, type RedisClient } from '../lib/redis.js';
import { countUnpublished, dropDatabase, dropKeys, outboxDatabase, readStream, testKeyPrefix, waitFor } from './events.js';

const prefix = testKeyPrefix();
const DAY_MS = 24 * 60 * 60 * 1000;
let redis: RedisClient;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(() => {
  redis = createRedis(redisTarget(config()));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await dropKeys(redis, prefix);
  await redis.quit();
});

/** A fresh outbox database, dropped after the test. */
async function database(): Promise<DataSource> {
  const ds = await outboxDatabase();
  cleanups.push(() => dropDatabase(ds));
  return ds;
}

/** A started relay, stopped after the test. */
function relay(ds: DataSource, overrides: Partial<OutboxRelayOptions> = {}): OutboxRelay {
  const r = new OutboxRelay({ source: 'channels', dataSource: ds, redis, keyPrefix: prefix, batchSize: 500, pollMs: 10, retentionMs: DAY_MS, ...overrides });
  r.start();
  cleanups.push(() => r.stop());
  return r;
}

function events(from: number, count: number, topic = 'channel', keys = 5): OutboxEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    topic,
    key: `k${(from + i) % keys}`,
    payload: { n: from + i, text: 'ünïcødé "quoted" \\ text' },
  }));
}

async function append(ds: DataSource, batch: OutboxEvent[]): Promise<void> {
  await ds.transaction((tx) => outboxStore.append(tx, batch));
}

const published = (ds: DataSource) => waitFor('every outbox row published', async () => (await countUnpublished(ds)) === 0);
const stream = (topic: string) => eventKeys.stream(prefix, topic);

describe('outbox relay', () => {
  it('publishes at once when a commit that appended rows nudges it, not at its next poll; a rollback nudges nothing', async () => {
    const ds = await database();
    let nudged = 0;
    let woken: OutboxRelay | undefined;
    nudgeRelayOnCommit(ds, () => {
      nudged++;
      woken?.wake();
    });
    // A poll a minute apart: only a nudge gets the rows out within waitFor's time.
    woken = relay(ds, { pollMs: 60_000 });
    await waitFor('the relay active and paused', async () => woken!.active);
    await sleep(100);
    await append(ds, events(0, 3, 'nudged'));
    expect(nudged).toBe(0);
    await published(ds);
    expect(nudged).toBe(1);
    expect((await readStream(redis, stream('nudged'))).length).toBeGreaterThanOrEqual(3);

    await ds.transaction(async (tx) => {
      await outboxStore.append(tx, events(3, 2, 'nudged'));
      throw new Error('rolled back');
    }).catch(() => {});
    // A transaction that appended nothing nudges nothing either.
    await ds.transaction(async (tx) => tx.query('SELECT 1'));
    await sleep(50);
    expect(nudged).toBe(1);
    expect(await countUnpublished(ds)).toBe(0);

    // A savepoint's commit is not the transaction's: the nudge comes with the outermost commit.
    await ds.transaction(async (tx) => {
      await tx.queryRunner!.startTransaction();
      await outboxStore.append(tx, events(7, 1, 'nudged'));
      await tx.queryRunner!.commitTransaction();
      await sleep(50);
      expect(nudged, 'no nudge before the outermost commit').toBe(1);
    });
    await published(ds);
    expect(nudged).toBe(2);

    // Commits in a row: each is published (a nudge that comes while the relay reads ends the pause after that read).
    await append(ds, events(5, 1, 'nudged'));
    await append(ds, events(6, 1, 'nudged'));
    await published(ds);
  });

  it('publishes rows in seq order with their payloads to the streams and the live channels, and marks them', async () => {
    const ds = await database();
    const subscriber = createRedis(redisTarget(config()));
    cleanups.push(() => subscriber.quit());
    const live: { channel: string; message: string }[] = [];
    subscriber.on('message', (channel: string, message: string) => live.push({ channel, message }));
    await subscriber.subscribe(eventKeys.live(prefix, 'channel'), eventKeys.live(prefix, 'location'));
    // Rows of both topics, more than two batches, written before and while the relay runs.
    const written = [...events(0, 700), ...events(700, 100, 'location')];
    await append(ds, written.slice(0, 600));
    relay(ds);
    await append(ds, written.slice(600));
    await published(ds);

    const channel = await readStream(redis, stream('channel'));
    const location = await readStream(redis, stream('location'));
    for (const entries of [channel, location]) {
      expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => a - b));
    }
    const all = [...channel, ...location].sort((a, b) => a.seq - b.seq);
    expect(all.map(({ source, seq, key, payload }) => ({ source, seq, key, payload }))).toEqual(
      written.map((e, i) => ({ source: 'channels', seq: i + 1, key: e.key, payload: e.payload })),
    );

    await waitFor('every live message', async () => live.length === written.length);
    const streamIds = new Map(all.map((e) => [e.seq, e.id]));
    for (const { channel: liveChannel, message } of live) {
      const m = JSON.parse(message);
      expect(m).toEqual({ source: 'channels', seq: m.seq, key: written[m.seq - 1]!.key, payload: written[m.seq - 1]!.payload, streamId: streamIds.get(m.seq) });
      expect(liveChannel).toBe(eventKeys.live(prefix, written[m.seq - 1]!.topic));
    }
    const [row] = await ds.query('SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NOT NULL');
    expect(Number(row.n)).toBe(written.length);
  });

  it('lets one of two relays on a database publish, and the standby take over when it stops', async () => {
    const ds = await database();
    const relays = [relay(ds), relay(ds)];
    // Long enough for the standby to have tried the lock at least once more.
    await sleep(1500);
    expect(relays.filter((r) => r.active)).toHaveLength(1);
    const [active, standby] = relays[0]!.active ? relays : [relays[1]!, relays[0]!];
    await append(ds, events(0, 50, 'handover'));
    await published(ds);

    await active!.stop();
    expect(active!.active).toBe(false);
    await waitFor('the standby to take over', async () => standby!.active, 5000);
    await append(ds, events(50, 50, 'handover'));
    await published(ds);
    // A clean handover sends nothing twice.
    expect((await readStream(redis, stream('handover'))).map((e) => e.seq)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
  });

  it('stands down when its lock connection dies, and publishing resumes on a relay that takes the lock', async () => {
    const ds = await database();
    const relays = [relay(ds), relay(ds)];
    await waitFor('an active relay', async () => relays.some((r) => r.active));
    const [row] = await ds.query('SELECT IS_USED_LOCK(?) AS id', [relayLockName(ds.driver.database!)]);
    await ds.query(`KILL CONNECTION ${Number(row.id)}`);
    await append(ds, events(0, 20, 'killed'));
    await published(ds);
    expect(relays.filter((r) => r.active)).toHaveLength(1);
    const seqs = new Set((await readStream(redis, stream('killed'))).map((e) => e.seq));
    for (let seq = 1; seq <= 20; seq++) expect(seqs.has(seq)).toBe(true);
  });

  it('deletes published rows older than the retention and keeps the others', async () => {
    const ds = await database();
    await append(ds, events(0, 4, 'clean-up'));
    await ds.query('UPDATE outbox_events SET published_at = ? WHERE seq <= 2', [new Date(Date.now() - 2 * DAY_MS)]);
    await ds.query('UPDATE outbox_events SET published_at = ? WHERE seq = 3', [new Date()]);
    relay(ds);
    await published(ds);
    await waitFor('old rows deleted', async () => {
      const rows: { seq: string }[] = await ds.query('SELECT seq FROM outbox_events ORDER BY seq');
      return rows.map((r) => Number(r.seq)).join() === '3,4';
    });
  });
});

describe('outbox relay crash', () => {
  /** The relay in a process of its own, which the test kills. */
  function spawnRelay(ds: DataSource): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/relay-process.ts', ds.driver.database!, 'channels'], {
      env: { ...process.env, REDIS_KEY_PREFIX: prefix, OUTBOX_BATCH_SIZE: '20', OUTBOX_POLL_MS: '5' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return child;
  }

  async function lockHolder(ds: DataSource): Promise<number | null> {
    const [row] = await ds.query('SELECT IS_USED_LOCK(?) AS id', [relayLockName(ds.driver.database!)]);
    return row.id === null ? null : Number(row.id);
  }

  const publishedCount = async (ds: DataSource) =>
    Number((await ds.query('SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NOT NULL'))[0].n);

  it('publishes every row at least once and each key in seq order across a SIGKILL and a restart', async () => {
    const ds = await database();
    // Three writers, each with keys of its own (one key's writes are serialised by its row lock in the
    // real services), commit interleaved transactions of one to four events until told to stop.
    let writing = true;
    const writers = [0, 1, 2].map(async (w) => {
      for (let n = 0; writing; n++) {
        const size = 1 + (n % 4);
        await append(
          ds,
          Array.from({ length: size }, (_, i) => ({ topic: 'crash', key: `w${w}-k${(n + i) % 3}`, payload: { w, n, i } })),
        );
        await sleep(1);
      }
    });

    const first = spawnRelay(ds);
    await waitFor('the first relay to publish', async () => (await publishedCount(ds)) >= 200, 30_000);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const atKill = await publishedCount(ds);
    // The server drops the dead process's connection, and its lock with it.
    await waitFor('the lock to be released', async () => (await lockHolder(ds)) === null);
    expect(await countUnpublished(ds)).toBeGreaterThan(0);

    const second = spawnRelay(ds);
    await waitFor('the restarted relay to publish', async () => (await publishedCount(ds)) >= atKill + 200, 30_000);
    writing = false;
    await Promise.all(writers);
    await published(ds);
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));
    expect(second.exitCode).toBe(0);
    expect(await lockHolder(ds)).toBeNull();

    const rows: { seq: string; event_key: string; payload: string }[] = await ds.query('SELECT seq, event_key, payload FROM outbox_events ORDER BY seq');
    const entries = await readStream(redis, stream('crash'));
    // First deliveries only, as a consumer that de-duplicates by (source, seq) sees them.
    const firstSeen = new Map<number, (typeof entries)[number]>();
    for (const e of entries) if (!firstSeen.has(e.seq)) firstSeen.set(e.seq, e);
    expect(firstSeen.size).toBe(rows.length);
    for (const row of rows) {
      const entry = firstSeen.get(Number(row.seq));
      expect(entry, `seq ${row.seq} published`).toBeDefined();
      expect(entry).toMatchObject({ source: 'channels', key: row.event_key, payload: JSON.parse(row.payload) });
    }
    const lastSeqByKey = new Map<string, number>();
    for (const e of firstSeen.values()) {
      expect(e.seq, `key ${e.key} in seq order`).toBeGreaterThan(lastSeqByKey.get(e.key) ?? 0);
      lastSeqByKey.set(e.key, e.seq);
    }
  });
});
