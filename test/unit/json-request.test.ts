import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { requestJson } from '../../src/platform/json-request.js';

/** Requests to our own endpoints over a real socket: kept connections, their races, timeouts and refusals. */
describe('requestJson', () => {
  let server: Server;
  let base: string;
  const sockets = new Set<Socket>();
  let handle: (req: IncomingMessage, res: ServerResponse, body: string) => void;

  beforeEach(async () => {
    sockets.clear();
    handle = (req, res, body) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    };
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => handle(req, res, body));
    });
    server.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads JSON and reuses one connection for reads', async () => {
    for (let i = 0; i < 5; i++) expect(await requestJson(`${base}/a?i=${i}`)).toMatchObject({ url: `/a?i=${i}` });
    expect(sockets.size).toBe(1);
  });

  it('sends a body with its method on a connection of its own', async () => {
    const answer = await requestJson(`${base}/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rate: 5 }),
    });
    expect(answer).toEqual({ method: 'POST', url: '/config', body: '{"rate":5}' });
  });

  it('asks a read again when the server closed the kept connection as it was reused', async () => {
    await requestJson(`${base}/first`);
    // The server drops the idle connection without the client having seen it yet: the next read meets a reset.
    let dropped = 0;
    handle = (req, res, body) => {
      if (dropped++ === 0) {
        req.socket.destroy();
        return;
      }
      res.end(JSON.stringify({ url: req.url, body }));
    };
    expect(await requestJson(`${base}/second`)).toMatchObject({ url: '/second' });
    expect(dropped).toBe(2);
  });

  it('names the endpoint that does not answer in time, and the error an endpoint gives', async () => {
    handle = () => undefined; // never answers
    await expect(requestJson(`${base}/slow`, undefined, 200)).rejects.toThrow(
      `${base}/slow did not answer within 200 ms`,
    );
    handle = (_req, res) => {
      res.statusCode = 409;
      res.end(JSON.stringify({ error: 'the gate is Off' }));
    };
    await expect(requestJson(`${base}/refused`)).rejects.toThrow('the gate is Off');
    handle = (_req, res) => res.end('not json');
    await expect(requestJson(`${base}/text`)).rejects.toThrow('answered 200 with no JSON');
  });
});
