import { type Agent, request as httpRequest } from 'node:http';

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A JSON request with a timeout; non-2xx answers reject with the server's error text. */
export function requestJson<T>(
  method: string,
  url: string,
  options: { body?: unknown; timeoutMs: number; agent?: Agent | false },
): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const req = httpRequest(
      url,
      {
        method,
        agent: options.agent ?? false,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': payload.length }
          : { 'content-length': 0 },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            const message = (parsed as { error?: unknown } | undefined)?.error ?? text.slice(0, 200);
            reject(new Error(`HTTP ${status}: ${String(message)}`));
          } else if (parsed === undefined) {
            reject(new Error(`HTTP ${status}: answer is not JSON`));
          } else resolve(parsed as T);
        });
      },
    );
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
