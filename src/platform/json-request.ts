/**
 * A JSON request to one of our own local HTTP endpoints (control process, services, engines' admin APIs), with a
 * timeout; a non-2xx answer throws with the `error` the endpoint gave.
 */
export async function requestJson<T>(url: string, init?: RequestInit, timeoutMs = 5_000): Promise<T> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `${url} answered ${response.status}`);
  return body;
}
