/**
 * The few HTTP/TCP server chores every local engine and control server shares: bind on loopback (port 0 lets the
 * kernel choose, and the bound port is what comes back), close promptly, answer JSON, read a bounded body.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Server } from 'node:net';

/** A port already taken. Its message names the port, which deploy errors and tests rely on. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly host: string,
  ) {
    super(`port ${port} on ${host} is already in use`);
  }
}

/** A request body above the limit a server accepts. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
  }
}

/**
 * Listens on `host` (127.0.0.1 unless told otherwise) and resolves with the port actually bound: with port 0 the
 * kernel picks a free one at bind time, so nothing can take it between choosing and binding.
 */
export function listen(server: Server, port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, host) : error);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * Binds `preferred` when it is free, else any free port: endpoints stay the same across redeploys when they can,
 * and a port taken meanwhile by another program never fails the start.
 */
export async function listenPreferring(server: Server, preferred: number, host = '127.0.0.1'): Promise<number> {
  if (preferred === 0) return listen(server, 0, host);
  try {
    return await listen(server, preferred, host);
  } catch (error) {
    if (!(error instanceof PortInUseError)) throw error;
    return listen(server, 0, host);
  }
}

/** Binds `port` exactly, or with `anyPortIfTaken` any free port when it is taken (see listenPreferring). */
export function bindPort(server: Server, port: number, anyPortIfTaken = false, host = '127.0.0.1'): Promise<number> {
  return anyPortIfTaken ? listenPreferring(server, port, host) : listen(server, port, host);
}

/** Stops accepting and drops open (keep-alive) connections, so closing never waits for an idle client. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

/** Answers with a JSON body; a response already under way is cut instead (its status line is gone). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The whole request body, or a BodyTooLargeError as soon as it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      finish();
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) settle(() => reject(new BodyTooLargeError(limit)));
      else chunks.push(chunk);
    });
    req.on('end', () => settle(() => resolve(Buffer.concat(chunks))));
    req.on('error', (error) => settle(() => reject(error)));
  });
}
