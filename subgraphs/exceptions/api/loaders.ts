import DataLoader from 'dataloader';
import type { Reads } from '../../../lib/read-replicas.js';
import type { ExceptionEntity } from '../data/exception.entity.js';
import type { EventRow, EvidenceRow } from '../data/exception.store.js';
import type { ExceptionService } from '../services/exception.service.js';

/** Built per request: each batch is one query, answered in key order, where the request's `reads` send it. */
export function createLoaders(exceptions: ExceptionService, reads: Reads) {
  // Evidence is keyed by how much of it a selection asked for: one query per distinct `first`.
  const evidenceByLimit = new Map<number, DataLoader<string, EvidenceRow[]>>();
  return {
    exceptionById: new DataLoader<string, ExceptionEntity | null>((ids) => exceptions.byIds(reads, ids)),
    evidence: (limit: number) => {
      let loader = evidenceByLimit.get(limit);
      if (!loader) evidenceByLimit.set(limit, (loader = new DataLoader<string, EvidenceRow[]>((ids) => exceptions.evidence(reads, ids, limit))));
      return loader;
    },
    evidenceCount: new DataLoader<string, number>((ids) => exceptions.evidenceCounts(reads, ids)),
    history: new DataLoader<string, EventRow[]>((ids) => exceptions.history(reads, ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
