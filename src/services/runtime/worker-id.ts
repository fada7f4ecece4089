/**
 * TSR_WORKER_ID on ECS. One task definition serves every task of an ECS service, so it cannot hold a per-task id;
 * each task asks the ECS task metadata endpoint (v4, which ECS announces in ECS_CONTAINER_METADATA_URI_V4) for its
 * own task ARN instead. The id is then stable for the task's life, unique among its siblings, and a replacement task
 * gets a new one: its stream leases are taken over when the old owner's expire.
 */

/** The variable ECS sets in every container of a task (Fargate platform 1.4 and later). */
export const ECS_METADATA_VARIABLE = 'ECS_CONTAINER_METADATA_URI_V4';

export type FetchJson = (url: string) => Promise<unknown>;

const fetchJson: FetchJson = async (url) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
};

/** `trade/core` in us-east-1 of task …/0123abcd → `trade-core-us-east-1-0123abcd` (TSR_WORKER_ID's alphabet). */
export function workerIdForTask(service: string, region: string, taskArn: string): string {
  const taskId = taskArn.split('/').pop() ?? '';
  if (!/^[A-Za-z0-9]+$/.test(taskId)) throw new Error(`unexpected ECS task ARN "${taskArn}"`);
  return `${service.replace(/[^A-Za-z0-9._:-]/g, '-')}-${region}-${taskId}`.slice(0, 128);
}

/**
 * The environment with TSR_WORKER_ID filled in from the ECS task metadata when it is not set and the process runs
 * in an ECS task; otherwise the environment unchanged (the config loader then names a missing id).
 */
export async function withEcsWorkerId(
  env: NodeJS.ProcessEnv,
  fetch: FetchJson = fetchJson,
): Promise<NodeJS.ProcessEnv> {
  const metadata = env[ECS_METADATA_VARIABLE];
  if (env.TSR_WORKER_ID || !metadata) return env;
  const task = (await fetch(`${metadata}/task`)) as { TaskARN?: unknown };
  if (typeof task.TaskARN !== 'string') throw new Error(`the ECS task metadata at ${metadata}/task has no TaskARN`);
  const service = env.TSR_SERVICE || [env.TSR_APP, env.TSR_STAGE].filter(Boolean).join('-') || 'service';
  return { ...env, TSR_WORKER_ID: workerIdForTask(service, env.TSR_REGION ?? 'region', task.TaskARN) };
}
