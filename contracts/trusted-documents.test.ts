import { describe, expect, it } from 'vitest';
import { documentIdOf, normalizeDocumentId } from './trusted-documents.js';

const BARCODE = 'query Barcode($s: String!) { item(sku: $s) { sku barcode } }';

describe('document ids', () => {
  it('are sha256:<hex> of the exact text; bare hex is accepted, anything else is not an id', () => {
    const id = documentIdOf(BARCODE);
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(documentIdOf(`${BARCODE} `)).not.toBe(id);
    expect(normalizeDocumentId(id.slice(7).toUpperCase())).toBe(id);
    expect(normalizeDocumentId(id)).toBe(id);
    expect(normalizeDocumentId('sha1:abc')).toBeNull();
    expect(normalizeDocumentId(`sha256:${'a'.repeat(63)}`)).toBeNull();
  });
});
