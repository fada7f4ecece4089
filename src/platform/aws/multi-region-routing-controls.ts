import type { ResourceNames } from '../../config/model.js';
import type { ArcEndpoint } from '../../infra/aws/deployment-record.js';
import { ArcRoutingControls, ArcUnavailableError, type EndpointFailure } from '../arc-routing-controls.js';
import type { RoutingControls, RoutingControlState, RoutingControlUpdate } from '../platform.js';

/**
 * ARC's cluster endpoints live in different regions and each must be signed for its own region, so this keeps one
 * single-endpoint ArcRoutingControls per endpoint and tries them in turn (an endpoint that does not answer moves on;
 * an authoritative answer, e.g. a safety-rule refusal, ends the call). Only when none answers is it
 * ArcUnavailableError, listing every endpoint's failure.
 */
export class MultiRegionRoutingControls implements RoutingControls {
  private readonly controls: { readonly endpoint: string; readonly controls: ArcRoutingControls }[];
  private preferred = 0;

  constructor(endpoints: readonly ArcEndpoint[], names: ResourceNames, fallbackRegion: string) {
    this.controls = endpoints.map((e) => ({
      endpoint: e.url,
      controls: new ArcRoutingControls({ endpoints: [e.url], region: e.region || fallbackRegion, names }),
    }));
  }

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
    await Promise.all(this.controls.map((c) => c.controls.close()));
  }

  private async call<T>(operation: (controls: ArcRoutingControls) => Promise<T>): Promise<T> {
    const failures: EndpointFailure[] = [];
    for (let i = 0; i < this.controls.length; i++) {
      const index = (this.preferred + i) % this.controls.length;
      try {
        const answer = await operation(this.controls[index].controls);
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
