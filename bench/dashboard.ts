/**
 * `npm run bench -- dashboard`: what the dashboard costs and how fast it is, on a real local platform with real
 * Chromium pages — CPU with two pages open at rest and under 10 pairs/s (the dashboard process alone, and the whole
 * platform against the same minute with no page open), first paint, the page bundle's gzipped size, and how long a
 * change takes to reach the page.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import type { TsrConfig } from '../src/config/model.js';
import type { LocalState } from '../src/infra/local/state.js';
import { configureGenerator } from '../src/platform/generator-control.js';
import { LocalPlatform } from '../src/platform/local-platform.js';
import { launchChromium } from '../test/helpers/browser.js';
import { tempWorkspace } from '../test/helpers/cli.js';
import { cpuBetween, cpuSnapshot } from './where-time-goes.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUN = path.join(ROOT, 'bin', 'run.js');
const GOALS = { restShare: 0.05, loadShare: 0.1, firstPaintMs: 1_000, bundleKiB: 300, latencyMs: 1_000 };
const WINDOW_MS = 30_000;

function tsr(args: string[]): string {
  const result = spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tsr ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
const verdict = (ok: boolean) => (ok ? 'goal met' : 'GOAL MISSED');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** CPU over `ms` as a share of one core: the dashboard process, and every process of the platform. */
async function cpuOver(state: LocalState, ms: number): Promise<{ dashboard: number; platform: number }> {
  const before = cpuSnapshot(state);
  await sleep(ms);
  const used = cpuBetween(before, cpuSnapshot(state), 1);
  const dashboard = used.components.find(([name]) => name === 'dashboard')?.[1] ?? 0;
  return { dashboard: dashboard / used.seconds, platform: used.total / used.seconds };
}

/** Opens the page and measures first contentful paint and the first paint with data (both regions' apps shown). */
async function openPage(browser: Browser, url: string): Promise<{ page: Page; fcpMs: number; dataMs: number }> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  // In-page code as text: this file is compiled without the DOM's types.
  await page.addInitScript({
    content: `new MutationObserver(() => {
      if (window.firstData === undefined && document.querySelector('[data-testid="state-trade-us-west-2"]'))
        window.firstData = performance.now();
    }).observe(document, { childList: true, subtree: true });`,
  });
  await page.goto(url);
  await page.getByTestId('state-trade-us-west-2').waitFor();
  const times = (await page.evaluate(`({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
    data: window.firstData ?? NaN,
  })`)) as { fcp: number; data: number };
  return { page, fcpMs: times.fcp, dataMs: times.data };
}

/** From the moment the generator applied rate N (what `tsr generator rate N` calls) to the moment the page showed N. */
async function updateLatency(page: Page, platform: LocalPlatform, rate: number): Promise<number> {
  await page.evaluate(`(() => {
    window.seenAt = undefined;
    const card = document.querySelector('[data-testid="generator"]');
    const look = () => {
      if (window.seenAt === undefined && card.textContent.includes('${rate} pairs/s')) window.seenAt = Date.now();
    };
    new MutationObserver(look).observe(card, { childList: true, subtree: true, characterData: true });
  })()`);
  await configureGenerator(platform, { rate }); // resolves once the generator has applied it
  const changedAt = Date.now();
  // Polled from here: the page's CSP forbids the string evaluation waitForFunction would use.
  let seenAt: number | undefined;
  for (const deadline = Date.now() + 10_000; seenAt === undefined && Date.now() < deadline; await sleep(20))
    seenAt = (await page.evaluate('window.seenAt')) as number | undefined;
  if (seenAt === undefined) throw new Error(`rate ${rate} not shown on the page within 10 s`);
  return Math.max(0, seenAt - changedAt);
}

export async function benchDashboard(): Promise<void> {
  const dir = path.join(ROOT, 'dist', 'dashboard', 'page');
  const bundle = ['app.js', 'app.css'].map((f) => gzipSync(readFileSync(path.join(dir, f)), { level: 9 }).length);
  const bundleKiB = bundle.reduce((a, b) => a + b, 0) / 1024;
  console.log(
    `page bundle gzipped: ${bundleKiB.toFixed(1)} KiB (app.js ${(bundle[0] / 1024).toFixed(1)} + app.css ` +
      `${(bundle[1] / 1024).toFixed(1)}; goal ≤ ${GOALS.bundleKiB} KiB: ${verdict(bundleKiB <= GOALS.bundleKiB)})`,
  );

  const workspace = tempWorkspace('tsr-bench-dashboard-');
  const flags = ['--workspace', workspace];
  tsr(['deploy', ...flags]);
  const state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8')) as LocalState;
  const { url } = JSON.parse(tsr(['dashboard', '--json', ...flags])) as { url: string };
  let browser: Browser | undefined;
  try {
    await sleep(5_000); // let the platform settle after deploy
    const restAlone = await cpuOver(state, WINDOW_MS / 2);
    browser = await launchChromium();
    const first = await openPage(browser, url);
    const second = await openPage(browser, url);
    console.log(
      `first paint: ${first.fcpMs.toFixed(0)} ms (first contentful), ${first.dataMs.toFixed(0)} ms with both regions ` +
        `shown; second page ${second.dataMs.toFixed(0)} ms (goal ≤ ${GOALS.firstPaintMs} ms: ` +
        `${verdict(Math.max(first.dataMs, second.dataMs) <= GOALS.firstPaintMs)})`,
    );
    await sleep(3_000);
    const rest = await cpuOver(state, WINDOW_MS);
    console.log(
      `at rest, two pages open: dashboard process ${pct(rest.dashboard)} of a core (goal ≤ ${pct(GOALS.restShare)}: ` +
        `${verdict(rest.dashboard <= GOALS.restShare)}); whole platform ${pct(rest.platform)} vs ${pct(restAlone.platform)} ` +
        `with no page open (+${pct(rest.platform - restAlone.platform)})`,
    );

    const { config } = JSON.parse(readFileSync(path.join(workspace, 'plan.json'), 'utf8')) as { config: TsrConfig };
    const platform = new LocalPlatform(config, state);
    const latencies: number[] = [];
    for (const rate of [11, 12, 13, 14, 15, 16, 17]) latencies.push(await updateLatency(first.page, platform, rate));
    await platform.close();
    console.log(
      `update latency (generator rate changed → shown): median ${median(latencies)} ms, max ${Math.max(...latencies)} ms ` +
        `over ${latencies.length} changes (goal ≤ ${GOALS.latencyMs} ms: ${verdict(Math.max(...latencies) <= GOALS.latencyMs)})`,
    );

    tsr(['generator', 'start', '--rate', '10', ...flags]);
    await sleep(15_000); // warm-up
    const load = await cpuOver(state, WINDOW_MS);
    await first.page.close();
    await second.page.close();
    await sleep(3_000);
    const loadAlone = await cpuOver(state, WINDOW_MS);
    console.log(
      `under 10 pairs/s, two pages open: dashboard process ${pct(load.dashboard)} of a core (goal ≤ ` +
        `${pct(GOALS.loadShare)}: ${verdict(load.dashboard <= GOALS.loadShare)}); whole platform ${pct(load.platform)} ` +
        `vs ${pct(loadAlone.platform)} with no page open (+${pct(load.platform - loadAlone.platform)}); ` +
        `${os.cpus().length} cores`,
    );
  } finally {
    await browser?.close();
    spawnSync(process.execPath, [RUN, 'destroy', '--purge', '--confirm', 'dev', ...flags], { stdio: 'ignore' });
  }
}
