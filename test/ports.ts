import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The kernel's range for the local ports of outgoing connections (and of listen(0)), from /proc where there is one. */
export function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return [low, high];
  } catch {
    // No /proc: Linux's default range.
  }
  return [32768, 60999];
}

/** Whether 127.0.0.1:port can be listened on now. */
export const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** Ports freePort handed out in this process. */
const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1 for a process a test starts, released at once. Picked below the
 * kernel's range for outgoing connections' local ports: a port from that range (the kernel's own
 * pick, listen(0)) can be taken by any connection the suite opens in the moment before the process
 * binds it (a private MariaDB failed to start so: "Address already in use"), one below it only by
 * another listener.
 */
export async function freePort(below = ephemeralRange()[0]): Promise<number> {
  const floor = 10_000;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = floor + Math.floor(Math.random() * Math.max(1, below - floor));
    // Never the same port twice in one process: ports picked together are all told apart.
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found between ${floor} and ${below}`);
}
