import type { IncomingMessage } from 'node:http';
import { assessFlow, type FlowSample } from '../../src/dashboard/flow-health.js';
import { History } from '../../src/dashboard/history.js';
import { checkRequest, TOKEN_HEADER } from '../../src/dashboard/security.js';

const TOKEN = 'a'.repeat(43);

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

const sample = (t: number, offered: number, confirmed: number, backlog = {}, lagMs = {}): FlowSample => ({
  t,
  offered,
  confirmed,
  backlog,
  lagMs,
});

describe('falling behind', () => {
  it('keeps up when what is offered gets through', () => {
    const flow = assessFlow([sample(0, 0, 0), sample(10_000, 100, 98)]);
    expect(flow).toMatchObject({ behind: false, offeredPerSec: 10 });
    expect(flow.confirmedPerSec).toBeCloseTo(9.8);
    expect(flow.detail).toContain('keeping up');
  });

  it('is behind when less gets through, and names the stage whose backlog grows', () => {
    const flow = assessFlow([
      sample(0, 0, 0, { 'trade/inbound-gateway@us-east-1': 5, 'trade/core@us-east-1': 0 }),
      sample(10_000, 100, 40, { 'trade/inbound-gateway@us-east-1': 65, 'trade/core@us-east-1': 3 }),
    ]);
    expect(flow).toMatchObject({ behind: true, limitingStage: 'trade/inbound-gateway@us-east-1', backlogTotal: 68 });
    expect(flow.detail).toContain('FALLING BEHIND');
  });

  it('names the stage whose records wait longest when no backlog is counted', () => {
    const flow = assessFlow([
      sample(0, 0, 0, {}, { 'trade/core@us-east-1': 200 }),
      sample(10_000, 100, 100, {}, { 'trade/core@us-east-1': 9_000, 'trade/egress@us-east-1': 300 }),
    ]);
    expect(flow).toMatchObject({ behind: true, limitingStage: 'trade/core@us-east-1' });
  });

  it('is not behind with no load and says it is still measuring with one sample', () => {
    expect(assessFlow([sample(0, 0, 0), sample(5_000, 0, 0)])).toMatchObject({
      behind: false,
      detail: 'no load offered',
    });
    expect(assessFlow([sample(0, 0, 0)]).detail).toBe('measuring…');
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
