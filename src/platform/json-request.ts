import { Agent, request as httpRequest } from 'node:http';

/** What a request to our own endpoints may carry (the subset of fetch's RequestInit the callers use). */
export interface JsonRequestInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/**
 * Reads are asked every second by the dashboard and the drills' monitors: one connection kept per endpoint instead of
 * a new one each time (node:http rather than fetch, whose streams cost several times the CPU for these small answers).
 */
const keptAlive = new Agent({ keepAlive: true, maxFreeSockets: 4 });

/**
 * A JSON request to one of our own local HTTP endpoints (control process, services, engines' admin APIs), with a
 * timeout over the whole exchange; a non-2xx answer throws with the `error` the endpoint gave.
 */
export async function requestJson<T>(url: string, init: JsonRequestInit = {}, timeoutMs = 5_000): Promise<T> {
  const method = init.method ?? 'GET';
  try {
    return await exchange<T>(url, method, init, timeoutMs);
  } catch (error) {
    // A kept connection the server closed as we reused it: a read is safe to ask again, once, on a new one.
    if (method === 'GET' && (error as { reusedSocket?: boolean }).reusedSocket)
      return exchange<T>(url, method, init, timeoutMs, false);
    throw error;
  }
}

function exchange<T>(
  url: string,
  method: string,
  init: JsonRequestInit,
  timeoutMs: number,
  keepAlive = method === 'GET',
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const payload = init.body === undefined ? undefined : Buffer.from(init.body);
    const req = httpRequest(
      url,
      {
        method,
        agent: keepAlive ? keptAlive : false,
        headers: { ...init.headers, 'content-length': String(payload?.length ?? 0) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          let body: (T & { error?: string }) | undefined;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as T & { error?: string };
          } catch {
            if (status >= 200 && status < 300) return reject(new Error(`${url} answered ${status} with no JSON`));
          }
          if (status < 200 || status >= 300) return reject(new Error(body?.error ?? `${url} answered ${status}`));
          resolve(body as T);
        });
      },
    );
    function fail(error: Error): void {
      clearTimeout(timer);
      reject(Object.assign(error, { reusedSocket: req.reusedSocket }));
    }
    const timer = setTimeout(() => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', fail);
    req.end(payload);
  });
}
