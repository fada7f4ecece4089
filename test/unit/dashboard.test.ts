import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flowHealthSection } from '../../src/dashboard/flow-section.js';
import type { FlowHealthView } from '../../src/dashboard/view-model.js';
import { assessFlow, type FlowSample, type GeneratorReading } from '../../src/platform/flow-health.js';
import { History } from '../../src/dashboard/history.js';
import { checkRequest, TOKEN_HEADER } from '../../src/dashboard/security.js';

const TOKEN = 'a'.repeat(43);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function req(url: string, headers: Record<string, string> = {}, method = 'GET'): IncomingMessage {
  return { url, method, headers: { host: '127.0.0.1:4500', ...headers } } as unknown as IncomingMessage;
}

describe('dashboard request checks', () => {
  it('accepts the token in the URL or the cookie, on a loopback Host', () => {
    expect(checkRequest(req(`/?token=${TOKEN}`), TOKEN)).toEqual({ ok: true, viaQuery: true });
    expect(checkRequest(req('/events', { cookie: `x=1; tsr_dashboard=${TOKEN}` }), TOKEN)).toEqual({
      ok: true,
      viaQuery: false,
    });
    expect(checkRequest(req(`/?token=${TOKEN}`, { host: 'localhost:4500' }), TOKEN).ok).toBe(true);
    expect(checkRequest(req(`/?token=${TOKEN}`, { host: '[::1]:4500' }), TOKEN).ok).toBe(true);
  });

  it('refuses a missing or wrong token with 401', () => {
    expect(checkRequest(req('/'), TOKEN)).toMatchObject({ ok: false, status: 401 });
    expect(checkRequest(req('/?token=nope'), TOKEN)).toMatchObject({ ok: false, status: 401 });
    expect(checkRequest(req(`/?token=${TOKEN}x`), TOKEN)).toMatchObject({ ok: false, status: 401 });
  });

  it('refuses a Host that is not loopback (DNS rebinding), even with the token', () => {
    for (const host of ['attacker.example', '127.0.0.1.attacker.example:4500', '10.0.0.1:4500', ''])
      expect(checkRequest(req(`/?token=${TOKEN}`, { host }), TOKEN)).toMatchObject({ ok: false, status: 403 });
  });

  it('takes a change only as a POST with the token header and this very Origin', () => {
    const post = (headers: Record<string, string>) =>
      checkRequest(req(`/api/actions/generator.stop?token=${TOKEN}`, headers, 'POST'), TOKEN);
    expect(post({ [TOKEN_HEADER]: TOKEN, origin: 'http://127.0.0.1:4500' }).ok).toBe(true);
    expect(post({ origin: 'http://127.0.0.1:4500' })).toMatchObject({ status: 401 });
    expect(post({ [TOKEN_HEADER]: TOKEN })).toMatchObject({ status: 403 });
    expect(post({ [TOKEN_HEADER]: TOKEN, origin: 'http://attacker.example' })).toMatchObject({ status: 403 });
    expect(post({ [TOKEN_HEADER]: TOKEN, origin: 'http://127.0.0.1:9999' })).toMatchObject({ status: 403 });
    expect(
      checkRequest(
        req(`/?token=${TOKEN}`, { [TOKEN_HEADER]: TOKEN, origin: 'http://127.0.0.1:4500' }, 'DELETE'),
        TOKEN,
      ),
    ).toMatchObject({ status: 400 });
  });
});

const T0 = 1_800_000_000_000;

/** Looks every 2 s at a core backlog that grows by `perLook` records, beside a quiet ingestion stage. */
function looks(count: number, perLook: number, generator?: GeneratorReading): FlowSample[] {
  return Array.from({ length: count }, (_, i) => ({
    at: T0 + i * 2_000,
    stages: [
      { id: 'trade/core@us-east-1', kind: 'stage' as const, backlog: 20 + i * perLook, oldestAgeMs: 100 + i * 50 },
      { id: 'trade/ingestion@us-east-1', kind: 'stage' as const, backlog: 3, oldestAgeMs: 100 },
      { id: 'tables us-east-1→us-west-2', kind: 'replication' as const, backlog: 7, oldestAgeMs: 300 },
    ],
    ...(generator && i === count - 1 ? { generator } : {}),
  }));
}

const generator: GeneratorReading = {
  enabled: true,
  rate: 80,
  offeredPerSecond: 80,
  confirmedPerSecond: 41,
  backlog: 900,
  oldestAgeMs: 12_000,
  history: [],
};

describe('falling behind on the dashboard', () => {
  it('is the shared judgement (src/platform/flow-health.ts) over the same samples, nothing of its own', () => {
    for (const samples of [looks(40, 15, generator), looks(40, 0, generator), looks(8, 15), looks(1, 0)]) {
      const section = flowHealthSection(samples);
      const { backlogTotal, ...judgement } = section as FlowHealthView;
      expect(judgement).toEqual(assessFlow(samples));
      // Waiting in the services' inputs (replication is shown on its own).
      expect(backlogTotal).toBe(
        (samples.at(-1)?.stages ?? []).filter((s) => s.kind === 'stage').reduce((a, s) => a + (s.backlog ?? 0), 0),
      );
    }
    expect(flowHealthSection([])).toBeUndefined();
  });

  it('shows behind with the limiting stage, and keeping up, as flow-health decides it', () => {
    expect(flowHealthSection(looks(40, 15, generator))).toMatchObject({
      fallingBehind: true,
      limitingStage: 'trade/core@us-east-1',
      offeredPerSecond: 80,
      confirmedPerSecond: 41,
    });
    expect(flowHealthSection(looks(40, 0, generator))).toMatchObject({ fallingBehind: false });
    // A threshold is honoured the way `tsr status --behind-after` honours it.
    expect(flowHealthSection(looks(8, 15), { thresholdMs: 5_000 })?.fallingBehind).toBe(
      assessFlow(looks(8, 15), { thresholdMs: 5_000 }).fallingBehind,
    );
  });

  it('no second judgement lives in the dashboard: it imports the shared one', () => {
    const dir = path.join(ROOT, 'src', 'dashboard');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      expect({ file, defines: /function assessFlow|BEHIND_RATIO|BACKLOG_GROWTH/.test(text) }).toEqual({
        file,
        defines: false,
      });
    }
    expect(readFileSync(path.join(dir, 'flow-section.ts'), 'utf8')).toContain("from '../platform/flow-health.js'");
    expect(readFileSync(path.join(dir, 'collector.ts'), 'utf8')).toContain("from './flow-section.js'");
  });
});

describe('chart history', () => {
  it('keeps only the last span of samples and markers once each', () => {
    const history = new History(1_000);
    for (let t = 0; t <= 3_000; t += 500)
      history.add({ t, offered: 1, confirmed: 1, p50: null, p99: null, lagMs: null, backlog: null });
    expect(history.allSamples().map((s) => s.t)).toEqual([2_000, 2_500, 3_000]);
    const now = Date.now();
    expect(history.mark({ t: now, label: 'region-down us-east-1', kind: 'fault' })).toBe(true);
    expect(history.mark({ t: now, label: 'region-down us-east-1', kind: 'fault' })).toBe(false);
    expect(history.allMarkers()).toHaveLength(1);
  });
});
