import { rmSync } from 'node:fs';
import path from 'node:path';
import type { ArcEndpointsDown } from '../faults.js';
import { readJsonFile, writeJsonAtomically } from '../json-file.js';

/** `arc-endpoints-down` on AWS as the workspace keeps it while it holds. */
export interface HeldArcEndpoints {
  readonly kind: 'arc-endpoints-down';
  readonly endpoints: ArcEndpointsDown;
  /** Cluster endpoint URLs tsr's ARC client treats as unreachable. */
  readonly heldDown: readonly string[];
  readonly injectedAt: string;
}

/** The endpoints a fault holds down: every one, or all but the last in the configured order (the one left). */
export function endpointsToHold(urls: readonly string[], which: ArcEndpointsDown): string[] {
  return which === 'all' ? [...urls] : urls.slice(0, -1);
}

/**
 * ARC endpoint loss on AWS, simulated in tsr's own ARC client: ARC's cluster is AWS's to run, but trying the next
 * endpoint is tsr's. Kept as a file in the workspace, not in memory, so every tsr process on this workspace (a game
 * day's runbooks, `tsr routing-control`, status) sees it, and `tsr gameday recover` can release it after tsr was
 * killed.
 */
export class ArcEndpointFault {
  readonly file: string;

  constructor(workspace: string) {
    this.file = path.join(workspace, 'gamedays', 'arc-endpoints-down.json');
  }

  read(): HeldArcEndpoints | undefined {
    return readJsonFile<HeldArcEndpoints>(this.file);
  }

  /** The endpoints held down now (none when the fault is not injected). */
  heldDown(): ReadonlySet<string> {
    return new Set(this.read()?.heldDown ?? []);
  }

  hold(endpoints: ArcEndpointsDown, heldDown: readonly string[]): void {
    const record: HeldArcEndpoints = {
      kind: 'arc-endpoints-down',
      endpoints,
      heldDown,
      injectedAt: new Date().toISOString(),
    };
    writeJsonAtomically(this.file, record);
  }

  /**
   * Every endpoint answers again; releasing what is not held changes nothing (an undo may run twice). Only the
   * record this fault wrote is removed: a file there that is not one is left alone (and holds nothing down).
   */
  release(): void {
    if (this.read()?.kind === 'arc-endpoints-down') rmSync(this.file, { force: true });
  }
}
