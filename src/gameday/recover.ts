import type { TsrConfig } from '../config/model.js';
import { stopGenerator } from '../platform/generator-control.js';
import type { LocalPlatform } from '../platform/local-platform.js';
import { openPlatform } from '../platform/open.js';
import { listJournals } from '../runbooks/journal.js';
import { undoAllFaults } from './steps.js';

export interface RecoverResult {
  readonly undone: string[];
  readonly failed: string[];
  readonly generatorStopped: boolean;
}

/** Signal 0 checks a process exists without touching it (EPERM: it exists, as another user's). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Game-day runs whose process is gone while the journal says they run, and which had started the load. */
function deadRunsWithLoad(workspace: string): string[] {
  return listJournals(workspace)
    .filter((j) => j.runbook.name.startsWith('gameday-') && j.status === 'running' && !isAlive(j.pid))
    .filter((j) => {
      const load = j.steps.find((s) => s.id === 'load');
      const stop = j.steps.find((s) => s.id === 'load-stop');
      return load && load.status !== 'pending' && stop?.status !== 'completed';
    })
    .map((j) => j.runId);
}

/** `tsr gameday recover`: undoes every fault still on record and stops a load a dead game day left running. */
export async function recoverGameDay(config: TsrConfig, say: (text: string) => void): Promise<RecoverResult> {
  const platform = await openPlatform(config);
  try {
    const { undone, failed } = await undoAllFaults(platform, config.workspace, undefined, say);
    let generatorStopped = false;
    if (platform.target === 'local' && deadRunsWithLoad(config.workspace).length) {
      await stopGenerator(platform as LocalPlatform);
      generatorStopped = true;
    }
    for (const summary of undone) say(`undid ${summary}`);
    return { undone, failed, generatorStopped };
  } finally {
    await platform.close();
  }
}
