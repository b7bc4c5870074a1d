import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cpuReading } from './cpu.js';

/** Keeps this thread busy until this process has used `ms` more of CPU (however busy the machine). */
const spin = (ms: number) => {
  const used = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const end = used() + ms;
  while (used() < end);
};

describe('bench CPU reading (/proc)', () => {
  it('charges each part its own processes: a process, a tree rooted at a process, a name', async () => {
    // A child that keeps a core busy until killed: counted under the tree rooted at this process, not under this process alone.
    const child = spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      const reading = cpuReading([
        { name: 'this process', pids: [process.pid] },
        { name: 'its children', roots: [process.pid] },
        { name: 'nothing', comm: /^no-such-program-here$/ },
      ]);
      reading.start();
      spin(400);
      const [self, children, nothing] = reading.perRequest(4)!;
      // 400 ms of CPU over 4 requests is 100 ms a request, and a little more for this process's other threads; the clock ticks at 10 ms.
      expect(self).toBeGreaterThanOrEqual(97.5);
      expect(self).toBeLessThan(130);
      // The child ran meanwhile and is charged to the tree only: this process was counted already.
      expect(children).toBeGreaterThan(0);
      expect(nothing).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reads nothing before it is started, and NaN per request for no requests', () => {
    const reading = cpuReading([{ name: 'this process', pids: [process.pid] }]);
    expect(reading.perRequest(10)).toBeNull();
    reading.start();
    expect(reading.perRequest(0)![0]).toBeNaN();
  });
});
