import { dnsRegion } from '../clients/types.js';
import type { AppName } from '../config/apps.js';
import { ExitCode, UserError } from '../errors.js';
import { generatorStatus, type GeneratorStatus } from '../platform/generator-control.js';
import type { Platform } from '../platform/platform.js';
import type { ProbeName } from './scenario.js';

/** One reading of a probe: whether it holds now, and what was measured (for the live line and the journal). */
export interface ProbeReading {
  readonly holds: boolean;
  readonly detail: string;
}

/** The platform, for probes and load that need the generator (every target with the trade app has one). */
export function withGenerator(platform: Platform): Platform {
  if (!platform.generator) {
    throw new UserError(
      `game-day load and the confirming/latency probes need the generator, which the ${platform.target} target does not run`,
      'remove load and those probes from the scenario',
      ExitCode.usage,
    );
  }
  return platform;
}

/** Confirmed pairs so far: each pair's two sides are confirmed once they reach a final match state. */
export function confirmedSides(status: GeneratorStatus): number {
  return Object.entries(status.confirmations)
    .filter(([state]) => state !== 'UNKNOWN')
    .reduce((n, [, count]) => n + count, 0);
}

/** Resolves primary, secondary, standby, active (where `app` runs now) or a region name to a region name. */
export async function resolveRegion(platform: Platform, text: string, app?: AppName): Promise<string> {
  const regions = platform.config.regions;
  if (text === 'primary') return regions[0];
  if (text === 'secondary') return regions[1];
  if (text === 'active' || text === 'standby') {
    const active = dnsRegion(await platform.routingControls().list(), app ?? 'trade', regions);
    if (!active) throw new Error(`${app ?? 'trade'} is active in no region (no dns control On)`);
    if (text === 'active') return active;
    const standby = regions.find((r) => r !== active);
    if (!standby) throw new Error('there is no standby region');
    return standby;
  }
  return text;
}

/**
 * Reads a probe once. `confirming` needs two readings some seconds apart, so it reads, waits `windowMs` and reads
 * again; the others read the platform once. A probe never treats "no data" as holding.
 */
export async function readProbe(
  platform: Platform,
  probe: ProbeName,
  options: {
    readonly maxMs?: number;
    readonly windowMs?: number;
    readonly latencySince?: number;
    readonly sleep: (ms: number) => Promise<void>;
  },
): Promise<ProbeReading> {
  switch (probe) {
    case 'confirming': {
      const local = withGenerator(platform);
      const before = confirmedSides(await generatorStatus(local));
      await options.sleep(options.windowMs ?? 5_000);
      const after = await generatorStatus(local);
      const gained = confirmedSides(after) - before;
      if (!after.enabled) return { holds: false, detail: 'the generator is not running: nothing to confirm' };
      return { holds: gained > 0, detail: `${gained} confirmation(s) in ${(options.windowMs ?? 5_000) / 1000} s` };
    }
    case 'replication': {
      const max = options.maxMs ?? 5_000;
      const lags = await platform.replicationLag();
      const unmeasured = lags.filter((l) => l.lagMs === undefined);
      const worst = lags.reduce((m, l) => Math.max(m, l.lagMs ?? 0), 0);
      if (lags.length === 0) return { holds: false, detail: 'no replication measured' };
      if (unmeasured.length)
        return {
          holds: false,
          detail: `${unmeasured.length} replication path(s) not measurable (${unmeasured[0].resource} → ${unmeasured[0].to})`,
        };
      return { holds: worst <= max, detail: `worst replication lag ${worst} ms (max ${max} ms)` };
    }
    case 'healthy': {
      const status = await platform.status();
      const down = [
        ...status.components.filter((c) => !c.up).map((c) => `${c.name}${c.region ? `@${c.region}` : ''}`),
        ...(status.stages ?? []).filter((s) => !s.up).map((s) => `${s.app}/${s.stage}@${s.region}`),
      ];
      return {
        holds: down.length === 0,
        detail: down.length
          ? `down: ${down.slice(0, 4).join(', ')}${down.length > 4 ? ', …' : ''}`
          : 'every engine and service is up',
      };
    }
    case 'latency': {
      const status = await generatorStatus(withGenerator(platform), { latencySince: options.latencySince });
      const max = options.maxMs ?? 3_000;
      const latency = status.latencyToMatchedMs;
      if (!latency || latency.samples === 0) return { holds: false, detail: 'no confirmation measured yet' };
      return {
        holds: latency.p99 <= max,
        detail: `submit → MATCHED p50 ${latency.p50} ms, p99 ${latency.p99} ms (max ${max} ms)`,
      };
    }
  }
}
