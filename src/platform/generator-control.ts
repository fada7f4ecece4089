import { ExitCode, UserError } from '../errors.js';
import type { GeneratorDriver, GeneratorSettings, GeneratorStatus } from './generator-types.js';
import type { Platform } from './platform.js';

export type { GeneratorDriver, GeneratorSettings, GeneratorStatus } from './generator-types.js';

/** The platform's generator, or why it has none. Every function below works on any target that has one. */
export function generatorOf(platform: Platform): GeneratorDriver {
  if (!platform.generator) {
    throw new UserError(
      `the ${platform.target} target has no generator`,
      'deploy with the trade app included',
      ExitCode.usage,
    );
  }
  return platform.generator();
}

/** Starts generating: applies the settings (live, no restart), then lets it generate (its control ON). */
export async function startGenerator(platform: Platform, settings: GeneratorSettings): Promise<GeneratorStatus> {
  const driver = generatorOf(platform);
  if (settings.rate !== undefined) await driver.configure(settings);
  await driver.enable();
  return waitForGenerator(driver, (s) => s.enabled);
}

export async function stopGenerator(platform: Platform): Promise<GeneratorStatus> {
  const driver = generatorOf(platform);
  await driver.disable();
  return waitForGenerator(driver, (s) => !s.enabled);
}

export function configureGenerator(platform: Platform, settings: GeneratorSettings): Promise<GeneratorStatus> {
  return generatorOf(platform).configure(settings);
}

/** @param options.latencySince latency figures of the confirmations received since then (epoch ms) only */
export function generatorStatus(platform: Platform, options: { latencySince?: number } = {}): Promise<GeneratorStatus> {
  return generatorOf(platform).status(options);
}

/** The generator polls its control (and on AWS its task may be starting); wait until it has seen the change. */
async function waitForGenerator(
  driver: GeneratorDriver,
  done: (s: GeneratorStatus) => boolean,
): Promise<GeneratorStatus> {
  const deadline = Date.now() + driver.settleMs;
  let status = await driver.status();
  while (!done(status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(1_000, driver.settleMs / 50)));
    status = await driver.status();
  }
  return status;
}

/**
 * `--rate auto`: waits until the feedback loop has settled on a rate (it keeps holding it after), or `timeoutMs`.
 * `onProgress` sees every status read meanwhile.
 */
export async function waitForAutoRate(
  platform: Platform,
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
