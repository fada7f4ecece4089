import type { AutoRateState, FlowFigures } from '../clients/generator-types.js';
import type { LocalPlatform } from './local-platform.js';
import { generatorRequest } from './local-services.js';

export interface GeneratorStatus {
  readonly runId: string;
  readonly rate: number;
  /** The generator routing control says generate. */
  readonly enabled: boolean;
  /** Region whose trade dns control is ON: where trades are published. */
  readonly targetRegion?: string;
  readonly degraded: boolean;
  readonly pairsSent: number;
  readonly messagesSent: number;
  readonly byScenario: Readonly<Record<string, number>>;
  readonly confirmations: Readonly<Record<string, number>>;
  readonly latencyToMatchedMs?: { readonly p50: number; readonly p99: number; readonly samples: number };
  readonly ledger: string;
  /** With `--rate auto`: the feedback loop's state, the rate it sets now and the sustainable rate it found. */
  readonly auto?: AutoRateState;
  /** Offered vs confirmed, end to end. */
  readonly flow?: FlowFigures;
}

export interface GeneratorSettings {
  /** Pairs per second, or `auto`: find and hold the rate the platform confirms. */
  readonly rate?: number | 'auto';
}

const CONTROL = 'trade-generator';

/** Starts generating: applies the settings (live, no restart), then turns the generator routing control ON. */
export async function startGenerator(platform: LocalPlatform, settings: GeneratorSettings): Promise<GeneratorStatus> {
  if (settings.rate !== undefined) await configureGenerator(platform, settings);
  await platform.routingControls().set([{ control: CONTROL, state: 'On' }]);
  return waitForGenerator(platform, (s) => s.enabled);
}

export async function stopGenerator(platform: LocalPlatform): Promise<GeneratorStatus> {
  await platform.routingControls().set([{ control: CONTROL, state: 'Off' }]);
  return waitForGenerator(platform, (s) => !s.enabled);
}

export function configureGenerator(platform: LocalPlatform, settings: GeneratorSettings): Promise<GeneratorStatus> {
  return generatorRequest<GeneratorStatus>(platform.state, '/config', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(settings),
  });
}

/** @param options.latencySince latency figures of the confirmations received since then (epoch ms) only */
export function generatorStatus(
  platform: LocalPlatform,
  options: { latencySince?: number } = {},
): Promise<GeneratorStatus> {
  const query = options.latencySince ? `?latencySince=${Math.round(options.latencySince)}` : '';
  return generatorRequest<GeneratorStatus>(platform.state, `/status${query}`);
}

/** The generator polls its control about every second; wait until it has seen the change. */
async function waitForGenerator(
  platform: LocalPlatform,
  done: (s: GeneratorStatus) => boolean,
  timeoutMs = 5_000,
): Promise<GeneratorStatus> {
  const deadline = Date.now() + timeoutMs;
  let status = await generatorStatus(platform);
  while (!done(status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    status = await generatorStatus(platform);
  }
  return status;
}

/**
 * `--rate auto`: waits until the feedback loop has settled on a rate (it keeps holding it after), or `timeoutMs`.
 * `onProgress` sees every status read meanwhile.
 */
export async function waitForAutoRate(
  platform: LocalPlatform,
  options: { timeoutMs: number; intervalMs?: number; onProgress?: (status: GeneratorStatus) => void },
): Promise<{ settled: boolean; status: GeneratorStatus }> {
  const deadline = Date.now() + options.timeoutMs;
  let status: GeneratorStatus | undefined;
  for (;;) {
    try {
      status = await generatorStatus(platform);
      options.onProgress?.(status);
      if (status.auto?.state === 'holding') return { settled: true, status };
    } catch (error) {
      // A busy generator may miss one status read during a long wait: look again; only a silent wait fails.
      if (Date.now() >= deadline && !status) throw error;
    }
    if (Date.now() >= deadline && status) return { settled: false, status };
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1_000));
  }
}
