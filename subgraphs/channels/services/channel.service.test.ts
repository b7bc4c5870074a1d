import { describe, expect, it } from 'vitest';
import { channelSnapshotSchema } from '../../../contracts/events.js';
import { ChannelEntity } from '../data/channel.entity.js';
import { channelSnapshot, ruleColumns, sourceRows } from './channel.service.js';

describe('ruleColumns', () => {
  it('flattens the buffer and allows split shipments unless refused', () => {
    expect(ruleColumns({ buffer: { kind: 'PERCENT', value: 10 }, cap: 5 })).toEqual({
      bufferKind: 'PERCENT',
      bufferValue: 10,
      cap: 5,
      allowSplitShipments: true,
      protection: 'OFF',
    });
    expect(ruleColumns({ buffer: null, allowSplitShipments: false })).toEqual({
      bufferKind: null,
      bufferValue: null,
      cap: null,
      allowSplitShipments: false,
      protection: 'OFF',
    });
    expect(ruleColumns({ protection: 'PROTECTIVE' }).protection).toBe('PROTECTIVE');
  });
});

describe('sourceRows', () => {
  it('orders sources by priority, then location id, without touching the input', () => {
    const input = [
      { locationId: 'c', priority: 2 },
      { locationId: 'b', priority: 1 },
      { locationId: 'a', priority: 2 },
    ];
    const rows = sourceRows('ch', input);
    expect(rows.map((r) => [r.channelId, r.locationId, r.priority])).toEqual([
      ['ch', 'b', 1],
      ['ch', 'a', 2],
      ['ch', 'c', 2],
    ]);
    expect(input[0]!.locationId).toBe('c');
  });
});

describe('channelSnapshot', () => {
  it('carries the rule, the sources in serving order, the version and what marketplaces replicates, as the event contract says', () => {
    const channel = Object.assign(new ChannelEntity(), {
      id: 'ch',
      code: 'WEB',
      type: 'MARKETPLACE',
      marketplace: 'EBAY',
      priority: 5,
      status: 'PAUSED',
      ...ruleColumns({ buffer: { kind: 'UNITS', value: 3 }, cap: null, allowSplitShipments: false }),
      version: 7,
    });
    const snapshot = channelSnapshot(channel, sourceRows('ch', [{ locationId: 'b', priority: 2 }, { locationId: 'a', priority: 1 }]));
    expect(channelSnapshotSchema.parse(snapshot)).toEqual({
      id: 'ch',
      status: 'PAUSED',
      buffer: { kind: 'UNITS', value: 3 },
      cap: null,
      allowSplitShipments: false,
      protection: 'OFF',
      sources: [
        { locationId: 'a', priority: 1 },
        { locationId: 'b', priority: 2 },
      ],
      version: 7,
      code: 'WEB',
      type: 'MARKETPLACE',
      marketplace: 'EBAY',
      priority: 5,
    });
    expect(channelSnapshot(Object.assign(channel, ruleColumns({ buffer: null })), []).buffer).toBeNull();
  });
});
