/**
 * Routing controls as services obey them (docs/domain.md#routing-controls-and-safety-rules): poll about every second, try every cluster endpoint (the
 * RoutingControls implementation does), and when no endpoint answers keep the last known state and report
 * degraded: never a silent flip. Before the first answer a gate is OFF and degraded.
 */
import type { Logger } from 'pino';
import type { AppName } from '../../config/apps.js';
import { routingControlName, type ResourceNames } from '../../config/model.js';
import { LOCAL_CREDENTIALS, LOCAL_SIGNER } from '../../clients/aws-clients.js';
import { ArcRoutingControls, ArcUnavailableError, type EndpointFailure } from '../../clients/arc-routing-controls.js';
import type { RoutingControls, RoutingControlState, RoutingControlUpdate, RoutingState } from '../../clients/types.js';
import { describeError } from '../../errors.js';
import { sleep } from './retry.js';
import type { ServiceConfig } from './service-config.js';

export interface GateState {
  /** Whether the service may act: the last known state is On. */
  readonly on: boolean;
  /** The last poll got no answer (or none has come yet). */
  readonly degraded: boolean;
  readonly lastKnown?: RoutingState;
  /** When `lastKnown` last changed (ISO). */
  readonly lastChangeAt?: string;
  /** When the cluster last answered (ISO). */
  readonly lastAnswerAt?: string;
  readonly lastError?: string;
}

export interface RegionGateOptions {
  readonly controls: RoutingControls;
  /** Routing control name, e.g. trade-app-us-east-1. */
  readonly control: string;
  /** Default 1000. */
  readonly pollMs?: number;
  readonly logger?: Logger;
}

type Listener<T> = (state: T) => void;

/** A poll loop that never overlaps itself; `stop()` waits for the poll in flight. */
abstract class Poller<T> {
  private running = false;
  private wake = new AbortController();
  private loop?: Promise<void>;
  private readonly listeners = new Set<Listener<T>>();

  constructor(protected readonly pollMs: number) {}

  /** Starts polling; resolves after the first poll (answered or not). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.wake = new AbortController();
    await this.pollOnce();
    this.loop = (async () => {
      while (this.running) {
        await sleep(this.pollMs, this.wake.signal);
        if (this.running) await this.pollOnce();
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake.abort();
    await this.loop;
  }

  /** Called with the new state whenever it changes (on/off, region, or degraded); returns an unsubscribe. */
  onChange(listener: Listener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected emit(state: T): void {
    for (const listener of this.listeners) {
      try {
        listener(state);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  protected abstract pollOnce(): Promise<void>;
}

/** Follows one routing control, e.g. `<app>-app-<region>` for core or `<app>-queue-<region>` for a gateway. */
export class RegionGate extends Poller<GateState> {
  readonly control: string;
  private readonly controls: RoutingControls;
  private readonly logger?: Logger;
  private current: GateState = { on: false, degraded: true, lastError: 'no answer yet' };

  constructor(opts: RegionGateOptions) {
    super(opts.pollMs ?? 1000);
    this.controls = opts.controls;
    this.control = opts.control;
    this.logger = opts.logger?.child({ control: opts.control });
  }

  isOn(): boolean {
    return this.current.on;
  }

  state(): GateState {
    return this.current;
  }

  protected async pollOnce(): Promise<void> {
    const before = this.current;
    try {
      const { state } = await this.controls.get(this.control);
      const changed = state !== before.lastKnown;
      this.current = {
        on: state === 'On',
        degraded: false,
        lastKnown: state,
        lastChangeAt: changed ? new Date().toISOString() : before.lastChangeAt,
        lastAnswerAt: new Date().toISOString(),
      };
      if (changed) this.logger?.info({ from: before.lastKnown ?? 'unknown', to: state }, 'routing control changed');
      if (before.degraded) this.logger?.info('routing control answered again');
    } catch (error) {
      const message = describeError(error);
      this.current = { ...before, degraded: true, lastError: message };
      if (!before.degraded || before.lastError !== message) {
        this.logger?.warn(
          { err: message, keeping: before.lastKnown ?? 'Off (never answered)' },
          'routing control unavailable; keeping the last known state',
        );
      }
    }
    if (this.current.on !== before.on || this.current.degraded !== before.degraded) this.emit(this.current);
  }
}

export interface ActiveRegionState {
  /** The region senders publish to; undefined until the first answer. */
  readonly region?: string;
  /** Every region whose control is On (last known). */
  readonly onRegions: readonly string[];
  readonly degraded: boolean;
  readonly lastChangeAt?: string;
  readonly lastAnswerAt?: string;
  readonly lastError?: string;
}

export interface ActiveRegionResolverOptions {
  readonly controls: RoutingControls;
  /** Region → its dns control, in preference order (e.g. from ActiveRegionResolver.dnsControls). */
  readonly regionControls: readonly { readonly region: string; readonly control: string }[];
  /** Default 1000. */
  readonly pollMs?: number;
  readonly logger?: Logger;
}

/**
 * For senders: which region's `<app>-dns-<region>` is On. One ListRoutingControls per poll. When several are On the
 * current region is kept (no flapping during a swap); when none answers the last known region is kept (degraded).
 */
export class ActiveRegionResolver extends Poller<ActiveRegionState> {
  private readonly controls: RoutingControls;
  private readonly regionControls: ActiveRegionResolverOptions['regionControls'];
  private readonly logger?: Logger;
  private current: ActiveRegionState = { onRegions: [], degraded: true, lastError: 'no answer yet' };

  constructor(opts: ActiveRegionResolverOptions) {
    super(opts.pollMs ?? 1000);
    if (opts.regionControls.length === 0) throw new Error('ActiveRegionResolver needs at least one region');
    this.controls = opts.controls;
    this.regionControls = opts.regionControls;
    this.logger = opts.logger;
  }

  /** The `<app>-dns-<region>` controls of an app, in the given region order. */
  static dnsControls(app: AppName, regions: readonly string[]): { region: string; control: string }[] {
    return regions.map((region) => ({ region, control: routingControlName(app, 'dns', region) }));
  }

  activeRegion(): string | undefined {
    return this.current.region;
  }

  state(): ActiveRegionState {
    return this.current;
  }

  protected async pollOnce(): Promise<void> {
    const before = this.current;
    try {
      const states = new Map((await this.controls.list()).map((c) => [c.name, c.state]));
      const onRegions = this.regionControls.filter((rc) => states.get(rc.control) === 'On').map((rc) => rc.region);
      let region: string | undefined;
      if (before.region && onRegions.includes(before.region)) region = before.region;
      else region = onRegions[0] ?? before.region;
      if (onRegions.length === 0) {
        this.logger?.warn({ keeping: before.region }, 'no dns routing control is On; keeping the last region');
      }
      const changed = region !== before.region;
      this.current = {
        region,
        onRegions,
        degraded: false,
        lastChangeAt: changed ? new Date().toISOString() : before.lastChangeAt,
        lastAnswerAt: new Date().toISOString(),
      };
      if (changed) this.logger?.info({ from: before.region, to: region }, 'active region changed');
    } catch (error) {
      const message = describeError(error);
      this.current = { ...before, degraded: true, lastError: message };
      if (!before.degraded || before.lastError !== message) {
        this.logger?.warn({ err: message, keeping: before.region }, 'routing controls unavailable; keeping region');
      }
    }
    if (this.current.region !== before.region || this.current.degraded !== before.degraded) this.emit(this.current);
  }
}

/** Routing controls behind endpoints that must each be signed for their own region: tried in turn. */
class PerRegionEndpoints implements RoutingControls {
  private preferred = 0;
  constructor(private readonly clients: readonly ArcRoutingControls[]) {}

  list(): Promise<RoutingControlState[]> {
    return this.call((c) => c.list());
  }

  get(control: string): Promise<RoutingControlState> {
    return this.call((c) => c.get(control));
  }

  set(updates: readonly RoutingControlUpdate[], overrideRules?: readonly string[]): Promise<void> {
    return this.call((c) => c.set(updates, overrideRules));
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }

  private async call<T>(operation: (controls: ArcRoutingControls) => Promise<T>): Promise<T> {
    const failures: EndpointFailure[] = [];
    for (let i = 0; i < this.clients.length; i++) {
      const index = (this.preferred + i) % this.clients.length;
      try {
        const answer = await operation(this.clients[index]);
        this.preferred = index;
        return answer;
      } catch (error) {
        if (!(error instanceof ArcUnavailableError)) throw error;
        failures.push(...error.failures);
      }
    }
    throw new ArcUnavailableError(failures);
  }
}

/**
 * The routing controls a service polls, from TSR_ARC_ENDPOINTS: plain URLs share one client signed for this region
 * (locally with dummy credentials); `region=url` pairs get one client per endpoint signed for its region.
 */
export function routingControlsFor(
  config: ServiceConfig,
  names: ResourceNames,
): RoutingControls & { close(): Promise<void> } {
  const credentials = config.target === 'local' ? LOCAL_CREDENTIALS : undefined;
  const signer = config.target === 'local' ? LOCAL_SIGNER : undefined;
  const endpoints = config.arcEndpoints;
  if (endpoints.some((e) => e.region !== undefined)) {
    return new PerRegionEndpoints(
      endpoints.map(
        (e) =>
          new ArcRoutingControls({
            endpoints: [e.url],
            region: e.region ?? config.region,
            names,
            credentials,
            signer,
            attemptTimeoutMs: 1000,
          }),
      ),
    );
  }
  return new ArcRoutingControls({
    endpoints: endpoints.map((e) => e.url),
    region: config.region,
    names,
    credentials,
    signer,
    attemptTimeoutMs: 1000,
  });
}
