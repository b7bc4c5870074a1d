import { describe, expect, it } from 'vitest';
import type { SchemaChange } from './changes.js';
import { blockersOf, reportChange, withProposedSubgraph } from './check-rules.js';
import type { CheckResult } from './check-result.js';
import type { UsageRow } from './usage.js';

const removal: SchemaChange = {
  fingerprint: 'f1',
  type: 'FIELD_REMOVED',
  coordinate: 'Item.barcode',
  message: "Field 'barcode' was removed from object type 'Item'",
  criticality: 'BREAKING',
  reason: null,
  usageCoordinates: ['Item.barcode'],
};
const use = (clientId: string, operationHash: string, count: number, extra: Partial<UsageRow> = {}): UsageRow => ({
  coordinate: 'Item.barcode',
  clientId,
  operationHash,
  operationName: 'Barcode',
  count,
  lastSeen: new Date('2026-12-01T00:00:00Z'),
  ...extra,
});
const result = (over: Partial<CheckResult>): CheckResult => ({
  checkId: 'c1',
  subgraph: 'inventory',
  proposedHash: 'h',
  baseSupergraphVersion: 1,
  unchanged: false,
  composition: { ok: true, errors: [] },
  changes: [],
  lint: [],
  usageWindowDays: 30,
  blockers: [],
  ok: false,
  ...over,
});

describe('reportChange', () => {
  it('makes a breaking change nobody used in the window SAFE, saying why', () => {
    const reported = reportChange(removal, [use('web', 'a', 3, { coordinate: 'Item.name' })], new Set());
    expect(reported).toMatchObject({ criticality: 'SAFE', originalCriticality: 'BREAKING', usage: [] });
    expect(reported.reason).toContain('Item.barcode');
  });

  it('keeps it BREAKING with its users, summing one operation over days and flagging registered documents', () => {
    const reported = reportChange(
      removal,
      [use('web', 'a', 3), use('web', 'a', 2, { lastSeen: new Date('2026-12-03T00:00:00Z') }), use('pos', 'b', 1, { registered: true })],
      new Set(['f1']),
    );
    expect(reported.criticality).toBe('BREAKING');
    expect(reported.approved).toBe(true);
    expect(reported.usage).toEqual([
      { clientId: 'web', operations: [{ name: 'Barcode', hash: 'a', count: 5, lastSeen: '2026-12-03T00:00:00.000Z' }] },
      { clientId: 'pos', operations: [{ name: 'Barcode', hash: 'b', count: 1, lastSeen: '2026-12-01T00:00:00.000Z', registered: true }] },
    ]);
  });

  it('leaves a change that is not breaking as it is', () => {
    expect(reportChange({ ...removal, criticality: 'DANGEROUS' }, [use('web', 'a', 1)], new Set())).toMatchObject({ criticality: 'DANGEROUS', usage: [] });
  });
});

describe('blockersOf', () => {
  const used = reportChange(removal, [use('web', 'a', 3)], new Set());

  it('blocks on composition errors, lint issues and unapproved breaking changes, naming the fingerprint to approve', () => {
    const blockers = blockersOf(
      result({
        composition: { ok: false, errors: [{ code: 'FIELD_TYPE_MISMATCH', message: 'x', subgraphs: ['inventory', 'orders'] }] },
        lint: [{ rule: 'DESCRIPTION', coordinate: 'Item', message: 'Item needs a description' }],
        changes: [used],
      }),
    );
    expect(blockers).toHaveLength(3);
    expect(blockers[0]).toContain('involving inventory, orders');
    expect(blockers[1]).toContain('DESCRIPTION');
    expect(blockers[2]).toContain('approve fingerprint f1');
  });

  it('lets an approved change through, and a broken registered document only when an approved change names it', () => {
    const approved = { ...used, approved: true };
    const broken = { clientId: 'web', documentId: `sha256:${'a'.padEnd(64, '0')}`, operationNames: ['Barcode'], errors: ['Cannot query field "barcode"'] };
    expect(blockersOf(result({ changes: [approved] }))).toEqual([]);
    expect(blockersOf(result({ changes: [approved], brokenDocuments: [{ ...broken, documentId: `sha256:${'a'.repeat(64)}` }] }))).toHaveLength(1);
    expect(blockersOf(result({ changes: [{ ...approved, usage: [{ clientId: 'web', operations: [{ name: 'Barcode', hash: 'a'.padEnd(64, '0'), count: 1, lastSeen: '' }] }] }], brokenDocuments: [broken] }))).toEqual([]);
  });
});

describe('withProposedSubgraph', () => {
  it('names the proposed subgraph in an error that names no subgraph but mentions it', () => {
    const name = withProposedSubgraph('pricing');
    expect(name({ code: 'X', message: 'in subgraph "pricing": bad', subgraphs: [] }).subgraphs).toEqual(['pricing']);
    expect(name({ code: 'X', message: 'elsewhere', subgraphs: [] }).subgraphs).toEqual([]);
    expect(name({ code: 'X', message: 'm', subgraphs: ['orders'] }).subgraphs).toEqual(['orders']);
  });
});
