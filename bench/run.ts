/** `npm run bench`: every performance figure the issues ask for, printed in one run. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchFailover } from './failover.js';
import { benchGameDay } from './gameday.js';
import { benchDashboard } from './dashboard.js';
import { benchPipeline } from './pipeline.js';
import { benchPlatform } from './platform.js';
import { benchRotation } from './rotation.js';
import { benchSoak } from './soak.js';

/** Benchmarks written as standalone scripts run in their own process. */
function script(file: string, ...args: string[]): () => Promise<void> {
  return async () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, file), ...args], {
      stdio: 'inherit',
    });
    if (result.status !== 0) throw new Error(`${file} failed (${result.status})`);
  };
}

const here = path.dirname(fileURLToPath(import.meta.url));
const sections: [string, () => Promise<void>][] = [
  ['Local platform', () => benchPlatform()],
  ['DynamoDB replication link', script('dynamo-replication.ts', '10000')],
  ['Pipeline', () => benchPipeline()],
  ['AWS synth', script('synth.ts')],
  ['Reconciliation', script('reconcile.ts')],
  ['Verdict', script('verdict.ts')],
  ['Rotation', () => benchRotation()],
  ['Failover', () => benchFailover()],
  // The game day's own figures, then the verdict's time and memory over 10,000 and 100,000 pairs (the same as Verdict).
  [
    'Gameday',
    async () => {
      await benchGameDay();
      await script('verdict.ts')();
    },
  ],
  ['Soak', () => benchSoak(process.argv[3])],
  ['Dashboard', () => benchDashboard()],
];
const only = process.argv[2];

for (const [title, run] of sections) {
  if (only && !title.toLowerCase().includes(only.toLowerCase())) continue;
  console.log(`\n== ${title}`);
  await run();
}
