import { createConnection, createServer } from 'node:net';

function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(actual));
    });
  });
}

/**
 * Chooses `count` ports on 127.0.0.1. With a base port they are consecutive from it and every one must be free
 * (a clash is an error naming the port); without one the kernel picks free ephemeral ports.
 */
export async function allocatePorts(
  count: number,
  basePort?: number,
  preferred?: readonly number[],
): Promise<number[]> {
  // The ports of the last run, if all still free: endpoints stay stable across destroy and deploy.
  if (basePort === undefined && preferred?.length === count) {
    const free = await Promise.all(preferred.map((port) => probe(port)));
    if (free.every((port, i) => port === preferred[i])) return [...preferred];
  }
  const ports: number[] = [];
  if (basePort !== undefined) {
    for (let port = basePort; port < basePort + count; port++) {
      if ((await probe(port)) === undefined) {
        throw new Error(
          `port ${port} on 127.0.0.1 is already in use (ports ${basePort}-${basePort + count - 1} are needed)`,
        );
      }
      ports.push(port);
    }
    return ports;
  }
  while (ports.length < count) {
    const port = await probe(0);
    if (port !== undefined && !ports.includes(port)) ports.push(port);
  }
  return ports;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` (an engine that answers, or a port left behind). */
export function portAnswers(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
