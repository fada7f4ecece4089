import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { stringify } from 'yaml';
import type Dashboard from '../../src/commands/dashboard.js';
import { loadConfig } from '../../src/config/load.js';
import { deriveNames } from '../../src/config/model.js';
import type { LocalState } from '../../src/infra/local/state.js';
import type { ReconcileReport } from '../../src/reconcile/index.js';
import { readStatusCounts } from '../../src/services/core-db/status-counts.js';
import { launchChromium, withScreenshot } from '../helpers/browser.js';
import { ROOT, runJson, runTsr, tempWorkspace, type ResultOf } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';

/** A raw request, so the test can send a Host header a browser never would. */
function get(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const number = (text: string | null) => Number((text ?? '').replace(/[^0-9]/g, '') || 0);

/** The dashboard of a real local platform, driven in Chromium like an operator would. */
describe('dashboard in a real browser', () => {
  const workspace = tempWorkspace('tsr-dashboard-');
  const flags = ['--workspace', workspace];
  let url: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    expect((await runTsr(['deploy', ...flags])).code).toBe(0);
    const { json } = await runJson<ResultOf<typeof Dashboard>>(['dashboard', ...flags]);
    url = json.url;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await runTsr(['destroy', '--purge', '--confirm', 'dev', ...flags]);
  }, 90_000);

  it('is served on 127.0.0.1 with a token: a wrong token gets 401, a foreign Host is refused, no secret leaks', async () => {
    const { origin } = new URL(url);
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // As the README runs it: `tsr dashboard` prints the URL; `tsr status` shows it too.
    expect((await runTsr(['dashboard', ...flags])).stdout.trim()).toBe(url);
    expect((await runTsr(['status', ...flags])).stdout).toContain(`Dashboard: ${url}`);
    expect((await get(`${origin}/`)).status).toBe(401);
    expect((await get(`${origin}/?token=wrong`)).status).toBe(401);
    expect((await get(`${origin}/api/state?token=wrong`)).status).toBe(401);
    const rebinding = await get(url, { host: 'attacker.example:80' });
    expect(rebinding.status).toBe(403);
    expect(rebinding.body).toContain('loopback');
    // A change from another origin (or none) is refused even with the token in the URL.
    const token = new URL(url).searchParams.get('token') as string;
    const foreign = await get(
      `${origin}/api/actions/generator.stop?token=${token}`,
      { origin: 'http://attacker.example' },
      'POST',
    );
    expect(foreign.status).toBe(401); // no token header
    const noOrigin = await get(
      `${origin}/api/actions/generator.stop?token=${token}`,
      { 'x-tsr-token': token, origin: 'http://attacker.example' },
      'POST',
    );
    expect(noOrigin.status).toBe(403);
    // The page and its data never carry the database password.
    const password = readFileSync(path.join(workspace, 'secrets', 'postgres-password'), 'utf8').trim();
    const state = await get(`${origin}/api/state?token=${token}`);
    expect(state.status).toBe(200);
    expect(state.body).not.toContain(password);
    expect((await get(url)).body).not.toContain(password);
  });

  it('shows both regions side by side, the active one obvious, with the right controls', async () => {
    await withScreenshot(page, 'dashboard-regions', async () => {
      await page.goto(url);
      await page.getByTestId('state-trade-us-east-1').filter({ hasText: 'ACTIVE' }).waitFor();
      await page.getByTestId('state-trade-us-west-2').filter({ hasText: 'STANDBY' }).waitFor();
      expect(await page.getByTestId('active-us-east-1').textContent()).toContain('ACTIVE: trade, settlement');
      expect(await page.getByTestId('active-us-west-2').textContent()).toBe('STANDBY');
      expect(await page.getByTestId('control-trade-dns-us-east-1').textContent()).toBe('dns ON');
      expect(await page.getByTestId('control-trade-dns-us-west-2').textContent()).toBe('dns OFF');
      expect(await page.getByTestId('control-settlement-app-us-west-2').textContent()).toBe('app OFF');
      // Rotate and fail over are offered toward the standby region only.
      expect(await page.getByTestId('rotate-trade-us-west-2').count()).toBe(1);
      expect(await page.getByTestId('rotate-trade-us-east-1').count()).toBe(0);
      expect(await page.getByTestId('region-down-us-east-1').count()).toBe(1);
    });
  }, 60_000);

  it('starting the generator from the page makes the counts rise on screen', async () => {
    await withScreenshot(page, 'dashboard-generator', async () => {
      await page.getByTestId('generator-rate').fill('2');
      await page.getByTestId('generator-start').click();
      await page.getByTestId('generator-state').filter({ hasText: 'RUNNING' }).waitFor({ timeout: 30_000 });
      const inbound = page.getByTestId('stage-trade-inbound-gateway-us-east-1').getByTestId('in');
      const shown = async () => number(await inbound.textContent());
      const first = await eventually(async () => (await shown()) > 0 && shown(), {
        timeoutMs: 60_000,
        what: 'trade inbound count above 0 on the page',
      });
      await eventually(async () => (await shown()) > first, { timeoutMs: 30_000, what: 'the count rising' });
      // Business counts come from the core database: matched pairs appear there too.
      const matched = page.getByTestId('count-trade-MATCHED');
      await eventually(async () => number(await matched.textContent()) > 0, {
        timeoutMs: 60_000,
        what: 'MATCHED trade sides counted on the page',
      });
      // The charts draw the last minutes with uPlot, and the health view lists every engine.
      await page.getByTestId('tab-charts').click();
      await page.locator('.chart canvas').nth(3).waitFor();
      expect(await page.locator('.chart canvas').count()).toBe(4);
      await page.getByTestId('tab-health').click();
      expect(await page.getByTestId('components').textContent()).toContain('postgres');
      await page.getByTestId('tab-flow').click();
    });
  }, 180_000);

  it('shows a refused safety rule with the rule', async () => {
    await withScreenshot(page, 'dashboard-refused', async () => {
      // Opening a queue while the gate is Off breaks trade-gate-queue-and-app: ARC refuses it.
      await page.getByTestId('control-trade-queue-us-west-2').click();
      await page.getByTestId('confirm-input').fill('trade-queue-us-west-2');
      await page.getByTestId('confirm-go').click();
      const refused = page.getByTestId('action').filter({ hasText: 'routing-control set trade-queue-us-west-2=On' });
      await refused.getByTestId('action-status').filter({ hasText: 'REFUSED' }).waitFor({ timeout: 30_000 });
      expect(await refused.getByTestId('action-error').textContent()).toContain('trade-gate-queue-and-app');
      expect(await page.getByTestId('control-trade-queue-us-west-2').textContent()).toBe('queue OFF');
    });
  }, 60_000);

  it('a rotation started from the page moves the active region, its steps appearing live', async () => {
    await withScreenshot(page, 'dashboard-rotation', async () => {
      await page.getByTestId('rotate-trade-us-west-2').click();
      await page.getByTestId('confirm-input').fill('trade');
      await page.getByTestId('confirm-go').click();
      // The run shows while it runs, a step at a time.
      const run = page.locator('[data-testid^="run-"]').filter({ hasText: 'rotate trade' }).first();
      await run.getByTestId('run-status').filter({ hasText: 'RUNNING' }).waitFor({ timeout: 30_000 });
      await run.locator('[data-testid^="step-"]').filter({ hasText: 'RUNNING' }).first().waitFor({ timeout: 30_000 });
      await run
        .locator('[data-testid^="step-"]')
        .filter({ hasText: 'COMPLETED' })
        .first()
        .waitFor({ timeout: 180_000 });
      if (process.env.TSR_DASHBOARD_SCREENSHOT) {
        await page.getByTestId('state-trade-us-west-2').filter({ hasText: 'ACTIVE' }).waitFor({ timeout: 300_000 });
        await page.screenshot({ path: process.env.TSR_DASHBOARD_SCREENSHOT, fullPage: true });
      }
      await page.getByTestId('state-trade-us-west-2').filter({ hasText: 'ACTIVE' }).waitFor({ timeout: 300_000 });
      await page.getByTestId('state-trade-us-east-1').filter({ hasText: 'STANDBY' }).waitFor({ timeout: 10_000 });
      expect(await page.getByTestId('active-us-west-2').textContent()).toContain('trade');
      // The action ends on the page as the run ended: succeeded, or failed with the runbook's own reason (on a
      // machine too loaded for the drain to finish in time, streams-idle times out; rotation.test.ts proves the
      // rotation itself).
      const action = page.getByTestId('action').filter({ hasText: 'rotate trade' });
      const status = action.getByTestId('action-status');
      await status.filter({ hasText: /SUCCEEDED|FAILED/ }).waitFor({ timeout: 480_000 });
      if ((await status.textContent()) === 'FAILED')
        expect(await action.getByTestId('action-error').textContent()).toMatch(/^rotate failed at [a-z-]+: /);
      await page.getByTestId('generator-stop').click();
      await page.getByTestId('generator-state').filter({ hasText: 'STOPPED' }).waitFor({ timeout: 30_000 });
    });
  }, 900_000);

  it('business counts on the page equal a COUNT of the core databases; the replica keeps the same counts', async () => {
    await withScreenshot(page, 'dashboard-business-counts', async () => {
      await runTsr(['generator', 'stop', ...flags]); // already stopped, unless the rotation test failed early
      const names = deriveNames(loadConfig({ workspace }, {}));
      const password = readFileSync(path.join(workspace, 'secrets', 'postgres-password'), 'utf8').trim();
      const tables = {
        trade: { table: 'trade_sides', statuses: ['UNMATCHED', 'MATCHED', 'MISMATCHED', 'SETTLED'] },
        settlement: { table: 'settlements', statuses: ['UNMATCHED', 'MISMATCHED', 'SETTLED'] },
      } as const;
      const pools: pg.Pool[] = [];
      const pool = (region: string, database: string) => {
        const state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8')) as LocalState;
        const created = new pg.Pool({
          host: '127.0.0.1',
          port: state.endpoints.regions[region].postgres?.port,
          user: 'postgres',
          password,
          database,
          max: 1,
        });
        pools.push(created);
        return created;
      };
      /** The truth, counted here row by row. */
      const count = async (db: pg.Pool, table: string, statuses: readonly string[]) => {
        const { rows } = await db.query<{ status: string; n: string }>(
          `SELECT status, count(*) AS n FROM ${table} GROUP BY status`,
        );
        return Object.fromEntries(statuses.map((s) => [s, Number(rows.find((r) => r.status === s)?.n ?? 0)]));
      };
      try {
        for (const app of ['trade', 'settlement'] as const) {
          const { table, statuses } = tables[app];
          const state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8')) as LocalState;
          const writer = pool(state.writers[app], names.databases[app]);
          const replica = pool(state.regions.find((r) => r !== state.writers[app]) as string, names.databases[app]);
          let seen: unknown;
          await eventually(
            async () => {
              const truth = await count(writer, table, statuses);
              const shown = Object.fromEntries(
                await Promise.all(
                  statuses.map(async (s) => [s, number(await page.getByTestId(`count-${app}-${s}`).textContent())]),
                ),
              );
              const [replicaTruth, replicaKept] = await Promise.all([
                count(replica, table, statuses),
                readStatusCounts(replica, table, statuses),
              ]);
              seen = { truth, shown, replicaTruth, replicaKept };
              return (
                JSON.stringify(shown) === JSON.stringify(truth) &&
                JSON.stringify(replicaTruth) === JSON.stringify(truth) &&
                JSON.stringify(replicaKept) === JSON.stringify(truth)
              );
            },
            { timeoutMs: 120_000, intervalMs: 500, what: `${app} counts on the page equal to a COUNT` },
          ).catch(() => undefined);
          const { truth, shown, replicaTruth, replicaKept } = seen as Record<string, Record<string, number>>;
          expect({ app, shown, replicaTruth, replicaKept }).toEqual({
            app,
            shown: truth,
            replicaTruth: truth,
            replicaKept: truth,
          });
          if (app === 'trade') expect(truth.MATCHED + truth.SETTLED).toBeGreaterThan(0);
        }
      } finally {
        await Promise.all(pools.map((p) => p.end()));
      }
    });
  }, 240_000);

  it('the Reconcile view shows the last reconcile whoever ran it: one run from the CLI', async () => {
    await withScreenshot(page, 'dashboard-reconcile', async () => {
      const { result, json } = await runJson<ReconcileReport>(['reconcile', '--since', '30m', ...flags]);
      expect([0, 6]).toContain(result.code); // nothing missing, or gaps (a rotation may have left some to replay)
      expect(json.hops.length).toBeGreaterThan(0);
      await page.getByTestId('tab-reconcile').click();
      await page
        .getByTestId('reconcile-last')
        .filter({ hasText: `by tsr reconcile · ${json.window.from} → ${json.window.to}` })
        .waitFor({ timeout: 15_000 });
      for (const hop of json.hops) {
        const row = page.getByTestId(`hop-${hop.name}`);
        expect({
          hop: hop.name,
          upstream: number(await row.getByTestId('hop-upstream').textContent()),
          downstream: number(await row.getByTestId('hop-downstream').textContent()),
        }).toEqual({ hop: hop.name, upstream: hop.upstream.count, downstream: hop.downstream.count });
      }
      expect(json.hops.some((h) => h.upstream.count > 0)).toBe(true);
      await page.getByTestId('tab-flow').click();
    });
  }, 180_000);

  it('injects a fault of the game-day library from the page, held until undone from the page', async () => {
    const state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8')) as LocalState;
    const linkPaused = async () =>
      ((await (await fetch(`${state.endpoints.replicationLink}/health`)).json()) as { paused: boolean }).paused;
    await withScreenshot(page, 'dashboard-fault', async () => {
      await page.getByTestId('tab-drills').click();
      await page.getByTestId('fault-kind').selectOption('pause-table-replication');
      await page.getByTestId('fault-inject').click();
      await page.getByTestId('confirm-input').fill('dev');
      await page.getByTestId('confirm-go').click();
      const active = page.getByTestId('active-fault').filter({ hasText: 'pause-table-replication' });
      await active.waitFor({ timeout: 30_000 });
      expect(await linkPaused()).toBe(true);
      await active.getByTestId('fault-undo').click();
      await active.waitFor({ state: 'detached', timeout: 30_000 });
      expect(await linkPaused()).toBe(false);
      await page.getByTestId('tab-flow').click();
    });
  }, 120_000);

  it('runs a game day from the page: a scenario of the workspace picked, confirmed with the environment name, its steps live, its report listed', async () => {
    // A short scenario of the workspace's own: the page lists it beside the built-ins.
    const own = path.join(workspace, 'gamedays', 'scenarios');
    mkdirSync(own, { recursive: true });
    writeFileSync(
      path.join(own, 'page-drill.yaml'),
      stringify({
        name: 'page-drill',
        description: 'a short drill started from the dashboard',
        hypothesis: 'a paused table replication is undone, the tables catch up, and no trade is lost',
        objectives: { lost: 0 },
        load: { rate: 2, warmup: '2s' },
        phases: [
          { id: 'pause', fault: 'pause-table-replication', for: '2s' },
          { wait: 'replication', max: '1s', timeout: '60s' },
          { hold: '10s' }, // long enough to watch its steps live
        ],
        settle: '30s',
      }),
    );
    await withScreenshot(page, 'dashboard-gameday', async () => {
      await page.getByTestId('tab-drills').click();
      const picker = page.getByTestId('gameday-scenario');
      await picker.locator('option', { hasText: 'page-drill' }).waitFor({ state: 'attached', timeout: 30_000 });
      expect(await picker.locator('option').allTextContents()).toEqual(expect.arrayContaining(['page-drill', 'quick']));
      await picker.selectOption('page-drill');
      await page.getByTestId('gameday-run').click();
      await page.getByTestId('confirm-input').fill('dev');
      await page.getByTestId('confirm-go').click();
      const action = page.getByTestId('action').filter({ hasText: 'gameday page-drill' });
      // What tsr gameday runs: the scenario compiled to a runbook, its steps appearing as they run.
      const run = page.locator('[data-testid^="run-"]').filter({ hasText: 'gameday-page-drill' }).first();
      await run
        .locator('[data-testid^="step-"]')
        .filter({ hasText: 'COMPLETED' })
        .first()
        .waitFor({ timeout: 120_000 });
      await action.getByTestId('action-status').filter({ hasText: 'SUCCEEDED' }).waitFor({ timeout: 300_000 });
      // Its report opens from here.
      const report = page
        .getByTestId('gamedays')
        .locator('li')
        .filter({ hasText: 'page-drill' })
        .getByRole('link', { name: 'report' })
        .first();
      await report.waitFor({ timeout: 30_000 });
      const href = (await report.getAttribute('href')) as string;
      const response = await page.request.get(new URL(href, url).toString());
      expect(response.status()).toBe(200);
      expect(await response.text()).toContain('page-drill');
      await page.getByTestId('tab-flow').click();
    });
  }, 420_000);

  it('serves the page from the bundle npm run build made (no CDN)', () => {
    expect(readFileSync(path.join(ROOT, 'dist', 'dashboard', 'page', 'app.js')).length).toBeGreaterThan(1000);
  });
});
