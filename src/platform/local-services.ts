import { existsSync, readFileSync } from 'node:fs';
import { ExitCode, UserError } from '../errors.js';
import type { LocalState } from '../infra/local/state.js';
import type { ServiceSnapshot } from '../infra/local/service-process.js';
import { requestJson, type JsonRequestInit } from './json-request.js';

/** What a service reports on its metrics endpoint (see src/services/runtime/metrics.ts). */
export interface ServiceMetrics {
  readonly counters?: Record<string, number>;
  readonly gauges?: Record<string, number>;
  readonly [key: string]: unknown;
}

export interface ServiceStatus extends ServiceSnapshot {
  readonly metricsSnapshot?: ServiceMetrics;
  readonly metricsError?: string;
}

function supervisor(state: LocalState, path: string): string {
  return `${state.endpoints.supervisor}${path}`;
}

/** Every service process with its supervisor view (up, restarts) and its own counters. */
export async function listServices(state: LocalState): Promise<ServiceStatus[]> {
  const services = await requestJson<ServiceSnapshot[]>(supervisor(state, '/services')).catch((error: Error) => {
    throw new UserError(
      `the control process does not answer: ${error.message}`,
      'check `tsr status`; redeploy if it is down',
      ExitCode.unhealthy,
    );
  });
  return Promise.all(
    services.map(async (service) => {
      if (!service.up) return service;
      try {
        return {
          ...service,
          metricsSnapshot: await requestJson<ServiceMetrics>(`${service.metrics}/metrics`, undefined, 2_000),
        };
      } catch (error) {
        return { ...service, metricsError: (error as Error).message };
      }
    }),
  );
}

export async function restartServices(state: LocalState, filter: string): Promise<string[]> {
  const { restarted } = await requestJson<{ restarted: string[] }>(
    supervisor(state, `/services/restart?filter=${encodeURIComponent(filter)}`),
    { method: 'POST' },
    60_000,
  );
  if (!restarted.length) {
    throw new UserError(
      `no service matches "${filter}"`,
      'see `tsr services status` for the ids, e.g. trade/core@us-east-1',
      ExitCode.usage,
    );
  }
  return restarted;
}

/** The last `lines` lines of one service's log. */
export function serviceLog(
  state: LocalState,
  id: string,
  lines: number,
): { id: string; log: string; text: string; size: number } {
  const service = state.services.find((s) => s.id === id) ?? state.services.find((s) => s.id.includes(id));
  if (!service) {
    throw new UserError(
      `no service "${id}"`,
      `use one of: ${state.services
        .map((s) => s.id)
        .slice(0, 6)
        .join(', ')}, …`,
      ExitCode.usage,
    );
  }
  const content = existsSync(service.log) ? readFileSync(service.log, 'utf8') : '';
  const text = content
    .split('\n')
    .slice(-lines - 1)
    .join('\n');
  // Where the text ends, so that a follow goes on from there without a gap or a repeat.
  return { id: service.id, log: service.log, text, size: Buffer.byteLength(content) };
}

/** The generator's own endpoint (it runs as the service "generator"). */
export function generatorEndpoint(state: LocalState): string {
  const generator = state.services.find((s) => s.id === 'generator');
  if (!generator)
    throw new UserError('this deployment has no generator', 'deploy with the trade app included', ExitCode.usage);
  return generator.metrics;
}

export async function generatorRequest<T>(state: LocalState, path: string, init?: JsonRequestInit): Promise<T> {
  try {
    return await requestJson<T>(`${generatorEndpoint(state)}${path}`, init);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(
      `the generator does not answer: ${(error as Error).message}`,
      'see `tsr services status` and `tsr services logs generator`',
      ExitCode.unhealthy,
    );
  }
}
