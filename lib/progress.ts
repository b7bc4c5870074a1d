import { Presets, SingleBar } from 'cli-progress';

/**
 * A progress bar for a long command: redrawn in place on a terminal, and a line every few seconds
 * when the output is a file or a pipe (CI logs, `| tee`), so a run that is not watched live still
 * shows how far it got.
 */
export function progressBar(format: string, stream: NodeJS.WriteStream = process.stdout): SingleBar {
  return new SingleBar({ format, hideCursor: true, stream, noTTYOutput: true, notTTYSchedule: 5000 }, Presets.shades_classic);
}
