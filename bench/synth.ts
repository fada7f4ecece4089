/**
 * Synth benchmark: `node --import tsx bench/synth.ts [regions…]`. Synthesizes the AWS stacks for two and three
 * regions (or the given lists, e.g. `us-east-1,us-west-2`) into a temporary directory, offline, and prints the time
 * and the resource count of every stack.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const started = performance.now();
const { synthesize } = await import('../src/infra/aws/synth.js');
const { loadConfig } = await import('../src/config/load.js');
const importMs = performance.now() - started;

const lists =
  process.argv.length > 2 ? process.argv.slice(2) : ['us-east-1,us-west-2', 'us-east-1,us-west-2,eu-west-1'];
console.log(`import cdktf + provider modules: ${importMs.toFixed(0)} ms`);
for (const list of lists) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-synth-'));
  try {
    const config = loadConfig({ environment: 'bench', regions: list.split(','), target: 'aws' }, {}, dir);
    const t0 = performance.now();
    const result = synthesize(config, path.join(dir, 'cdktf.out'));
    const ms = performance.now() - t0;
    console.log(
      `\n${config.regions.length} regions (${list}): synth ${ms.toFixed(0)} ms, ${result.resourceCount} resources`,
    );
    for (const stack of result.stacks) {
      console.log(
        `  ${stack.id.padEnd(24)} ${String(stack.resourceCount).padStart(4)} resources  ${String(stack.dataSourceCount).padStart(2)} data sources`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`\nrss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
