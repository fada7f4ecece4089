import type { RoutingControls } from '../clients/types.js';
import type { LocalState } from '../infra/local/state.js';
import type { GeneratorDriver, GeneratorStatus } from './generator-types.js';
import { generatorRequest } from './local-services.js';

/** The generator process of the local platform: its control, and its own endpoint for settings and status. */
export function localGenerator(state: LocalState, controls: () => RoutingControls): GeneratorDriver {
  return {
    // It polls its control about every second.
    settleMs: 5_000,
    configure: (settings) =>
      generatorRequest<GeneratorStatus>(state, '/config', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(settings),
      }),
    status(options = {}) {
      const query = options.latencySince ? `?latencySince=${Math.round(options.latencySince)}` : '';
      return generatorRequest<GeneratorStatus>(state, `/status${query}`);
    },
    enable: () => controls().set([{ control: 'trade-generator', state: 'On' }]),
    disable: () => controls().set([{ control: 'trade-generator', state: 'Off' }]),
  };
}
