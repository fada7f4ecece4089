import type { Server } from 'node:net';

/** What every local engine returns once it answers. */
export interface StartedEngine {
  readonly endpoint: string;
  readonly ports: readonly number[];
  /** OS processes the engine spawned itself (killed with it if the engine dies). */
  readonly childPids?: readonly number[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 only; a port already taken is reported with the port, not as a raw EADDRINUSE. */
export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} on 127.0.0.1 is already in use`) : error);
    };
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const withConnections = server as Server & { closeAllConnections?: () => void };
    server.close(() => resolve());
    withConnections.closeAllConnections?.();
  });
}
