import type { AppName } from '../config/apps.js';
import { ExitCode } from '../errors.js';

/**
 * After a regional loss every app that was active there must be recovered. Trade goes first: settlement's inputs
 * and its canary enter through trade (a trade pair that matches becomes settlement instructions), so settlement can
 * only be proven end to end once trade runs in a live region. Meanwhile trade's outbound gateway holds the
 * instructions for the lost settlement broker (durably, in its safe store) and keeps confirming trades; once
 * settlement runs in the target, they are delivered.
 */
export const FAILOVER_ORDER: readonly AppName[] = ['trade', 'settlement'];

/**
 * `failover all`: one run per app in FAILOVER_ORDER. An interrupted or refused run (the operator stopped, or a
 * check said no) ends the sequence; a failure of one app does not keep the next from being recovered. Returns the
 * runs and the first exit code that was not 0. `tsr failover all` and the dashboard both run it.
 */
export async function failoverInOrder<R>(
  execute: (app: AppName) => Promise<{ result: R; exitCode: number }>,
): Promise<{ runs: { app: AppName; result: R }[]; exitCode: number }> {
  const runs: { app: AppName; result: R }[] = [];
  let exitCode: number = ExitCode.ok;
  for (const app of FAILOVER_ORDER) {
    const { result, exitCode: code } = await execute(app);
    runs.push({ app, result });
    if (code !== ExitCode.ok && exitCode === ExitCode.ok) exitCode = code;
    if (code === ExitCode.interrupted || code === ExitCode.refused) break;
  }
  return { runs, exitCode };
}
