import { createHash } from 'node:crypto';

/** The sha256 of an SDL as stored: what tells one schema or supergraph version from another. */
export function sdlHash(sdl: string): string {
  return createHash('sha256').update(sdl).digest('hex');
}
