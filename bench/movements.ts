/** npm run bench -- movements: recordMovements batches against one transaction per movement. */
export interface MovementsBenchOptions {
  movements: number;
  skus: number;
  batch: number;
  concurrency: number;
  baselineMovements: number;
  baselineConnections: number;
}

export async function benchMovements(_opts: MovementsBenchOptions): Promise<void> {
  throw new Error('bench movements: not written yet');
}
