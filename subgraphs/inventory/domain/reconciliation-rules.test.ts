import { describe, expect, it } from 'vitest';
import { problemSignalSchema } from '../../../contracts/events.js';
import { MAX_QUANTITY } from '../../../contracts/quantities.js';
import { correctedOnHand, driftCleared, driftRaised, driftUncorrectable } from './reconciliation-rules.js';

const RUN = { id: '6a0b3c7e-2f1d-4e5a-9b8c-7d6e5f4a3b2c', source: 'erp:sap' };
const LOC = '0b6f2a70-5f3e-4c1a-9a2b-1c2d3e4f5a6b';
const AT = new Date('2025-03-01T10:00:00Z');

describe('correctedOnHand', () => {
  it('moves the level by the recorded drift, keeping what moved since the count', () => {
    // Counted 7 where we held 10; 2 sold since: 8 − 3.
    expect(correctedOnHand({ sku: 'A', locationId: LOC, theirs: 7, ours: 10 }, 8)).toBe(5);
    expect(correctedOnHand({ sku: 'A', locationId: LOC, theirs: 12, ours: 10 }, 0)).toBe(2);
  });

  it('declines a drift that would take on-hand below 0 or beyond the largest quantity', () => {
    expect(correctedOnHand({ sku: 'A', locationId: LOC, theirs: 2, ours: 10 }, 5)).toBeNull();
    expect(correctedOnHand({ sku: 'A', locationId: LOC, theirs: 2, ours: 10 }, 8)).toBe(0);
    expect(correctedOnHand({ sku: 'A', locationId: LOC, theirs: MAX_QUANTITY, ours: 0 }, 1)).toBeNull();
  });
});

describe('drift signals', () => {
  const line = { sku: 'SKU-1', locationId: LOC, theirs: 4, ours: 9 };

  it('raises a line under run:sku:location, grouped by the source, with the apply action', () => {
    const event = driftRaised(RUN, line, AT);
    expect(event).toMatchObject({ topic: 'problem', key: `RECONCILIATION_DRIFT:${RUN.id}:SKU-1:${LOC}` });
    expect(problemSignalSchema.parse(event.payload)).toMatchObject({
      kind: 'RECONCILIATION_DRIFT',
      state: 'RAISED',
      subject: `${RUN.id}:SKU-1:${LOC}`,
      cause: 'erp:sap',
      sku: 'SKU-1',
      locationId: LOC,
      units: 5,
      measure: 5,
      evidence: [{ type: 'RECONCILIATION_RUN', id: RUN.id }],
      action: { kind: 'APPLY_RECONCILIATION', runId: RUN.id },
      at: AT.toISOString(),
    });
  });

  it('clears it with the correcting movement as evidence, or raises it again without an action when it cannot be applied', () => {
    expect(driftCleared(RUN, line, 'm-1', 'ops', AT).payload).toMatchObject({
      state: 'CLEARED',
      subject: `${RUN.id}:SKU-1:${LOC}`,
      evidence: [{ type: 'RECONCILIATION_RUN', id: RUN.id }, { type: 'MOVEMENT', id: 'm-1' }],
      action: null,
    });
    expect(driftUncorrectable(RUN, line, 2, AT).payload).toMatchObject({ state: 'RAISED', subject: `${RUN.id}:SKU-1:${LOC}`, cause: 'erp:sap', action: null });
  });
});
