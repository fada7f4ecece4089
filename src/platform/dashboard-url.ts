import { readDashboardToken } from '../infra/local/dashboard-token.js';
import type { LocalState } from '../infra/local/state.js';

/**
 * The local dashboard's URL with its token (the token lives in <workspace>/secrets, the address in the state file),
 * or undefined while the dashboard has not started.
 */
export function localDashboardUrl(state: LocalState): string | undefined {
  const endpoint = state.endpoints.dashboard;
  const token = readDashboardToken(state.workspace);
  return endpoint && token ? `${endpoint}/?token=${token}` : undefined;
}
