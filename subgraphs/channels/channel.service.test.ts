import { describe, expect, it } from 'vitest';
import { ruleColumns, sourceRows } from './channel.service.js';

describe('ruleColumns', () => {
  it('flattens the buffer and allows split shipments unless refused', () => {
    expect(ruleColumns({ buffer: { kind: 'PERCENT', value: 10 }, cap: 5 })).toEqual({
      bufferKind: 'PERCENT',
      bufferValue: 10,
      cap: 5,
      allowSplitShipments: true,
    });
    expect(ruleColumns({ buffer: null, allowSplitShipments: false })).toEqual({
      bufferKind: null,
      bufferValue: null,
      cap: null,
      allowSplitShipments: false,
    });
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
