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

/** A port free right now (the kernel's choice); for what cannot bind port 0 itself, like PostgreSQL. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probe(0);
    if (port !== undefined) return port;
  }
}

/** What one part of a local deployment binds: an engine (`kinesis@us-east-1`, `arc`, …), `control`, `services`. */
export interface PortNeed {
  readonly id: string;
  readonly count: number;
}

/** Ports by part id; 0 means any free port, chosen by the kernel when the part binds. */
export type PortMap = Readonly<Record<string, readonly number[]>>;

/** Deals `ports` out to `needs` in their order: how `local.basePort` lays out its consecutive range. */
export function dealPorts(needs: readonly PortNeed[], ports: readonly number[]): PortMap {
  const total = needs.reduce((sum, need) => sum + need.count, 0);
  if (ports.length !== total) throw new Error(`${total} ports are needed, ${ports.length} were given`);
  let next = 0;
  return Object.fromEntries(needs.map((need) => [need.id, ports.slice(next, (next += need.count))]));
}

/**
 * The ports each part should try: the ones it had in the last run (`saved`, as written to ports.json), so endpoints
 * stay the same across destroy and deploy, else 0. Parts bind another free port when theirs is taken meanwhile.
 */
export function preferredPorts(needs: readonly PortNeed[], saved: unknown): PortMap {
  const known = typeof saved === 'object' && saved !== null && !Array.isArray(saved) ? saved : {};
  return Object.fromEntries(
    needs.map((need) => {
      const ports: unknown = (known as Record<string, unknown>)[need.id];
      const usable =
        Array.isArray(ports) &&
        ports.length === need.count &&
        ports.every((port) => Number.isInteger(port) && port > 0 && port < 65_536);
      return [need.id, usable ? (ports as number[]) : Array<number>(need.count).fill(0)];
    }),
  );
}

/**
 * `count` consecutive ports from `basePort` (local.basePort), each checked free now: a clash is an error naming the
 * port before anything starts. The parts then bind exactly these (a port taken in between fails naming it too).
 */
export async function consecutivePorts(basePort: number, count: number): Promise<number[]> {
  const ports: number[] = [];
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
