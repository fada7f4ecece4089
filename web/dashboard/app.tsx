/** The control room: one page, five views, the two regions side by side. Everything on it is pushed live. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type {
  ActionName,
  ActionRequests,
  ActionView,
  AppControls,
  DashboardSections,
  FlowView,
  OnOff,
  RunView,
  Sample,
  StageFlow,
  StepView,
} from '../../src/dashboard/view-model.js';
import { Chart, CHARTS } from './charts.js';
import { act, connect, type ActionError, type Sections } from './live.js';
import './style.css';
import 'uplot/dist/uPlot.min.css';

const VIEWS = ['flow', 'health', 'drills', 'reconcile', 'charts'] as const;
type View = (typeof VIEWS)[number];
const STAGES = ['inbound-gateway', 'ingestion', 'core', 'egress', 'outbound-gateway'];
const HISTORY_MS = 15 * 60_000;

/** A state is always a word, and a colour that agrees with it. */
function Badge(props: { tone: 'ok' | 'bad' | 'warn' | 'idle' | 'info'; text: string; testid?: string }) {
  return (
    <span class={`badge ${props.tone}`} data-testid={props.testid}>
      {props.text}
    </span>
  );
}

const n = (value: number | undefined) => (value === undefined ? '–' : value.toLocaleString('en'));
const ms = (value: number | undefined) =>
  value === undefined ? '–' : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
const clock = (from: string, to?: string) => ms((to ? Date.parse(to) : Date.now()) - Date.parse(from));

/** What is waiting for the operator's typed confirmation. */
interface Pending {
  readonly title: string;
  readonly expected: string;
  readonly go: (typed: string) => void;
}

type Ask = (pending: Pending) => void;
type Start = <K extends ActionName>(name: K, request: ActionRequests[K]) => void;

function Confirm(props: { pending: Pending; close: () => void }) {
  const [typed, setTyped] = useState('');
  const ok = typed === props.pending.expected;
  return (
    <div class="modal" role="dialog" aria-modal="true" data-testid="confirm">
      <form
        class="modal-box"
        onSubmit={(e) => {
          e.preventDefault();
          if (!ok) return;
          props.pending.go(typed);
          props.close();
        }}
      >
        <h2>{props.pending.title}</h2>
        <p>
          Type <code>{props.pending.expected}</code> to confirm.
        </p>
        <input
          autoFocus
          data-testid="confirm-input"
          value={typed}
          onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
        />
        <div class="row">
          <button type="button" onClick={props.close}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={!ok} data-testid="confirm-go">
            Confirm
          </button>
        </div>
      </form>
    </div>
  );
}

function ControlChip(props: { app: string; scope: string; region: string; state?: OnOff; ask: Ask; start: Start }) {
  const control = `${props.app}-${props.scope}-${props.region}`;
  const next: OnOff = props.state === 'On' ? 'Off' : 'On';
  return (
    <button
      class={`chip ${props.state === 'On' ? 'ok' : props.state === 'Off' ? 'idle' : 'warn'}`}
      data-testid={`control-${control}`}
      title={`set ${control} ${next}`}
      onClick={() =>
        props.ask({
          title: `Set ${control} ${next}? Safety rules apply (the gate must be On to change queue or app).`,
          expected: control,
          go: (confirm) => props.start('routing.set', { control, state: next, confirm }),
        })
      }
    >
      {props.scope} {props.state?.toUpperCase() ?? '?'}
    </button>
  );
}

function StageTable(props: { stages: readonly StageFlow[] }) {
  const byStage = new Map(props.stages.map((s) => [s.stage, s]));
  return (
    <table class="stages">
      <thead>
        <tr>
          <th>stage</th>
          <th>state</th>
          <th>in</th>
          <th>out</th>
          <th>rej</th>
          <th title="broker session backlog (inbound gateway)">backlog</th>
          <th title="how long the last record read had waited in the stream">wait</th>
          <th>out/s</th>
        </tr>
      </thead>
      <tbody>
        {STAGES.map((stage) => {
          const s = byStage.get(stage);
          return (
            <tr key={stage} data-testid={s ? `stage-${s.app}-${s.stage}-${s.region}` : undefined}>
              <td>{stage}</td>
              <td>{s ? <Badge tone={s.up ? 'ok' : 'bad'} text={s.up ? 'UP' : 'DOWN'} /> : '–'}</td>
              <td class="num" data-testid="in">
                {n(s?.in)}
              </td>
              <td class="num">{n(s?.out)}</td>
              <td class="num">{n(s?.rejected)}</td>
              <td class={`num ${(s?.backlog ?? 0) > 100 ? 'warn-text' : ''}`}>{n(s?.backlog)}</td>
              <td class={`num ${(s?.lagMs ?? 0) > 5_000 ? 'warn-text' : ''}`}>{ms(s?.lagMs)}</td>
              <td class="num">{s?.rate === undefined ? '–' : s.rate.toFixed(1)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function AppInRegion(props: {
  app: AppControls;
  region: string;
  stages: readonly StageFlow[];
  down: boolean;
  environment: string;
  ask: Ask;
  start: Start;
}) {
  const { app, region } = props;
  const active = app.active === region;
  const controls = app.regions[region] ?? {};
  return (
    <div class={`app ${active ? 'active' : 'standby'}`} data-testid={`app-${app.app}-${region}`}>
      <div class="app-head">
        <h3>{app.app}</h3>
        <Badge
          tone={active ? 'ok' : 'idle'}
          text={active ? 'ACTIVE' : 'STANDBY'}
          testid={`state-${app.app}-${region}`}
        />
        <Badge
          tone={app.writer === region ? 'info' : 'idle'}
          text={app.writer === region ? 'DB WRITER' : 'DB replica'}
        />
        {app.gate === 'On' && <Badge tone="warn" text="GATE OPEN (drill in progress)" />}
      </div>
      <div class="controls">
        {(['dns', 'queue', 'app'] as const).map((scope) => (
          <ControlChip
            key={scope}
            app={app.app}
            scope={scope}
            region={region}
            state={controls[scope]}
            ask={props.ask}
            start={props.start}
          />
        ))}
      </div>
      <StageTable stages={props.stages} />
      {!active && (
        <div class="row">
          <button
            data-testid={`rotate-${app.app}-${region}`}
            disabled={props.down}
            onClick={() =>
              props.ask({
                title: `Rotate ${app.app} to ${region} (planned, zero data loss)? Its preflight waits up to 2 minutes for replication into ${region} to catch up.`,
                expected: app.app,
                go: (confirm) => props.start('rotate', { app: app.app, to: region, confirm, waitReplication: '2m' }),
              })
            }
          >
            Rotate {app.app} here
          </button>
          <button
            class="danger"
            data-testid={`failover-${app.app}-${region}`}
            disabled={props.down}
            onClick={() =>
              props.ask({
                title: `Fail ${app.app} over to ${region}? The database writer is forced over: what the source had not replicated is lost.`,
                expected: props.environment,
                go: (confirm) => props.start('failover', { app: app.app, to: region, confirm }),
              })
            }
          >
            Fail over here
          </button>
        </div>
      )}
    </div>
  );
}

function RegionColumn(props: { region: string; sections: Sections; ask: Ask; start: Start }) {
  const { region } = props;
  const meta = props.sections.meta;
  const flow = props.sections.flow;
  const down = meta?.downRegions.includes(region) ?? false;
  const activeApps = flow?.apps.filter((a) => a.active === region).map((a) => a.app) ?? [];
  return (
    <section
      class={`region ${activeApps.length ? 'region-active' : 'region-standby'} ${down ? 'region-down' : ''}`}
      data-testid={`region-${region}`}
    >
      <header>
        <h2>{region}</h2>
        {region === meta?.primary && <Badge tone="info" text="PRIMARY" />}
        {down ? (
          <Badge tone="bad" text="REGION DOWN" testid={`down-${region}`} />
        ) : activeApps.length ? (
          <Badge tone="ok" text={`ACTIVE: ${activeApps.join(', ')}`} testid={`active-${region}`} />
        ) : (
          <Badge tone="idle" text="STANDBY" testid={`active-${region}`} />
        )}
        <span class="spacer" />
        {down ? (
          <button
            data-testid={`region-up-${region}`}
            onClick={() =>
              props.ask({
                title: `Bring ${region} back? What only it had (not replicated before a failover) is dropped.`,
                expected: region,
                go: (confirm) => props.start('region.up', { region, confirm }),
              })
            }
          >
            Bring region back
          </button>
        ) : (
          <button
            class="danger"
            data-testid={`region-down-${region}`}
            onClick={() =>
              props.ask({
                title: `Lose ${region}? Every engine and service of it stops at once.`,
                expected: region,
                go: (confirm) => props.start('region.down', { region, confirm }),
              })
            }
          >
            Lose region
          </button>
        )}
      </header>
      {flow?.apps.map((app) => (
        <AppInRegion
          key={app.app}
          app={app}
          region={region}
          down={down}
          environment={meta?.environment ?? ''}
          stages={flow.stages.filter((s) => s.app === app.app && s.region === region)}
          ask={props.ask}
          start={props.start}
        />
      ))}
    </section>
  );
}

function GeneratorPanel(props: { flow?: FlowView; start: Start }) {
  const [rate, setRate] = useState('10');
  const g = props.flow?.generator;
  const health = props.flow?.health;
  const on = g && 'enabled' in g && g.enabled;
  const confirmations = g && 'confirmations' in g ? g.confirmations : {};
  return (
    <section class="strip">
      <div class="card" data-testid="generator">
        <h3>Generator</h3>
        {g && 'error' in g ? (
          <Badge tone="bad" text={`UNREACHABLE: ${g.error}`} />
        ) : (
          <>
            <Badge tone={on ? 'ok' : 'idle'} text={on ? 'RUNNING' : 'STOPPED'} testid="generator-state" />
            <span>
              {g?.rate ?? '–'} pairs/s → {g?.targetRegion ?? '–'}
            </span>
            <span data-testid="pairs-sent">sent {n(g?.pairsSent)} pairs</span>
            <span>
              p50 {ms(g?.latency?.p50)} · p99 {ms(g?.latency?.p99)}
            </span>
          </>
        )}
        <div class="row">
          <input
            type="number"
            min="1"
            max="5000"
            value={rate}
            data-testid="generator-rate"
            onInput={(e) => setRate((e.target as HTMLInputElement).value)}
          />
          <button data-testid="generator-start" onClick={() => props.start('generator.start', { rate: Number(rate) })}>
            Start
          </button>
          <button onClick={() => props.start('generator.rate', { rate: Number(rate) })}>Set rate</button>
          <button data-testid="generator-stop" onClick={() => props.start('generator.stop', {})}>
            Stop
          </button>
        </div>
      </div>
      <div class={`card ${health?.fallingBehind ? 'alarm' : ''}`} data-testid="flow-health">
        <h3>Flow</h3>
        <Badge
          tone={!health ? 'idle' : health.fallingBehind ? 'bad' : 'ok'}
          text={!health ? 'MEASURING' : health.fallingBehind ? 'FALLING BEHIND' : 'KEEPING UP'}
          testid="flow-verdict"
        />
        <span>
          offered {health?.offeredPerSecond?.toFixed(1) ?? '–'} pairs/s · confirmed{' '}
          {health?.confirmedPerSecond?.toFixed(1) ?? '–'} pairs/s
        </span>
        <span>backlog {n(health?.backlogTotal)}</span>
        {health?.limitingStage && <span data-testid="limiting-stage">limiting: {health.limitingStage}</span>}
        <small data-testid="flow-summary">{health?.summary}</small>
      </div>
      <div class="card" data-testid="business">
        <h3>Business</h3>
        {Object.entries(props.flow?.business ?? {}).map(([app, counts]) => (
          <div key={app} class="counts" data-testid={`business-${app}`}>
            <b>{app}</b>
            {'error' in counts ? (
              <Badge tone="bad" text={`UNREADABLE: ${String(counts.error)}`} />
            ) : (
              Object.entries(counts as Record<string, number>).map(([status, count]) => (
                <span key={status} class={`count s-${status}`}>
                  {status} <b data-testid={`count-${app}-${status}`}>{n(count)}</b>
                </span>
              ))
            )}
          </div>
        ))}
        <div class="counts">
          <b>confirmations</b>
          {['MATCHED', 'MISMATCHED', 'SETTLED', 'REJECTED'].map((status) => (
            <span key={status} class={`count s-${status}`}>
              {status} <b>{n(confirmations[status] ?? 0)}</b>
            </span>
          ))}
        </div>
      </div>
    </section>
  );
}

const STEP_TONE: Record<string, 'ok' | 'bad' | 'warn' | 'idle' | 'info'> = {
  completed: 'ok',
  running: 'info',
  failed: 'bad',
  interrupted: 'bad',
  skipped: 'idle',
  pending: 'idle',
};

function Steps(props: { steps: readonly StepView[] }) {
  return (
    <ol class="steps">
      {props.steps.map((step) => (
        <li key={step.id} data-testid={`step-${step.id}`} class={`step ${step.status}`}>
          <Badge
            tone={step.refused ? 'bad' : (STEP_TONE[step.status] ?? 'idle')}
            text={step.refused ? 'REFUSED' : step.status.toUpperCase()}
          />
          <b>{step.id}</b> <span>{step.title}</span>
          <span class="num">
            {step.durationMs !== undefined ? ms(step.durationMs) : step.startedAt ? clock(step.startedAt) : ''}
          </span>
          {(step.error ?? step.detail) && (
            <div class={step.error ? 'error' : 'detail'}>{step.error ?? step.detail}</div>
          )}
        </li>
      ))}
    </ol>
  );
}

function RunLive(props: { run: RunView }) {
  const { run } = props;
  const marker = (name: string) => run.markers.find((m) => m.name === name)?.at;
  const swapped = marker('dns-swapped');
  return (
    <article class="run" data-testid={`run-${run.shortId}`}>
      <header>
        <h3>
          {run.runbook} {String(run.params.app ?? '')} → {String(run.params.target ?? '')}
        </h3>
        <Badge
          tone={run.status === 'running' ? 'info' : run.status === 'completed' ? 'ok' : 'bad'}
          text={run.status.toUpperCase()}
          testid="run-status"
        />
        <span class="clock">RTO clock {clock(run.startedAt, marker('canary-confirmed') ?? run.endedAt)}</span>
        {swapped && <span class="clock">unavailable {clock(swapped, marker('target-consuming') ?? run.endedAt)}</span>}
      </header>
      <Steps steps={run.steps} />
      {run.finally.length > 0 && (
        <>
          <h4>finally</h4>
          <Steps steps={run.finally} />
        </>
      )}
      {run.markers.length > 0 && (
        <p class="markers">
          {run.markers.map((m) => (
            <span key={m.name} class="marker">
              {m.name} +{clock(run.startedAt, m.at)}
            </span>
          ))}
        </p>
      )}
    </article>
  );
}

function ActionsPanel(props: { actions?: readonly ActionView[]; startError?: ActionError }) {
  return (
    <aside class="actions" data-testid="actions">
      <h3>Actions</h3>
      {props.startError && (
        <div class="action refused" data-testid="start-error">
          <Badge tone="bad" text={props.startError.exitCode === 5 ? 'REFUSED' : 'NOT STARTED'} />
          <div class="error">{props.startError.message}</div>
          {props.startError.fix && <div class="detail">Fix: {props.startError.fix}</div>}
        </div>
      )}
      {(props.actions ?? []).slice(0, 8).map((a) => (
        <div key={a.id} class={`action ${a.status}`} data-testid="action">
          <Badge
            tone={a.status === 'succeeded' ? 'ok' : a.status === 'running' ? 'info' : 'bad'}
            text={a.status.toUpperCase()}
            testid="action-status"
          />
          <b>{a.label}</b>
          <span class="num">{ms((a.endedAt ?? Date.now()) - a.startedAt)}</span>
          {a.progress.slice(-3).map((line, i) => (
            <div key={i} class="detail">
              {line}
            </div>
          ))}
          {a.error && (
            <div class="error" data-testid="action-error">
              {a.error.message}
              {a.error.fix && <div class="detail">Fix: {a.error.fix}</div>}
            </div>
          )}
        </div>
      ))}
    </aside>
  );
}

function FlowPage(props: { sections: Sections; ask: Ask; start: Start }) {
  const { sections } = props;
  const running = sections.drills?.running ?? [];
  return (
    <>
      <GeneratorPanel flow={sections.flow} start={props.start} />
      {sections.flow?.controlsError && (
        <Badge tone="bad" text={`ROUTING CONTROLS UNREADABLE: ${sections.flow.controlsError}`} />
      )}
      <div class="regions">
        {(sections.meta?.regions ?? []).map((region) => (
          <RegionColumn key={region} region={region} sections={sections} ask={props.ask} start={props.start} />
        ))}
      </div>
      {running.map((run) => (
        <RunLive key={run.runId} run={run} />
      ))}
    </>
  );
}

function HealthPage(props: { sections: Sections }) {
  const health = props.sections.health;
  if (!health) return <p>Waiting for the first reading…</p>;
  return (
    <div class="columns">
      <section>
        <h2>Engines and services</h2>
        <table data-testid="components">
          <thead>
            <tr>
              <th>component</th>
              <th>region</th>
              <th>state</th>
              <th>restarts</th>
              <th>detail</th>
            </tr>
          </thead>
          <tbody>
            {health.components.map((c) => (
              <tr key={`${c.name}@${c.region}`}>
                <td>{c.name}</td>
                <td>{c.region ?? '–'}</td>
                <td>
                  <Badge tone={c.up ? 'ok' : 'bad'} text={c.up ? 'UP' : 'DOWN'} />
                </td>
                <td class="num">{c.restarts ?? ''}</td>
                <td class="detail">{c.detail ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Replication (DELAYED above {ms(health.thresholds.delayedMs)})</h2>
        <table data-testid="replication">
          <thead>
            <tr>
              <th>kind</th>
              <th>resource</th>
              <th>from → to</th>
              <th>lag</th>
              <th>verdict</th>
            </tr>
          </thead>
          <tbody>
            {health.replication.map((r) => (
              <tr key={`${r.kind}${r.resource}${r.from}${r.to}`}>
                <td>{r.kind}</td>
                <td>{r.resource}</td>
                <td>
                  {r.from} → {r.to}
                </td>
                <td class="num">{ms(r.lagMs)}</td>
                <td>
                  <Badge
                    tone={r.verdict === 'HEALTHY' ? 'ok' : r.verdict === 'DELAYED' ? 'warn' : 'bad'}
                    text={r.verdict}
                  />
                  {r.detail && <span class="detail"> {r.detail}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2>ARC cluster endpoints</h2>
        <ul>
          {health.arcEndpoints.map((e) => (
            <li key={e.url}>
              <Badge tone={e.up ? 'ok' : 'bad'} text={e.up ? 'UP' : 'DOWN'} /> {e.url}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function DrillsPage(props: { sections: Sections; ask: Ask; start: Start }) {
  const drills = props.sections.drills;
  const environment = props.sections.meta?.environment ?? '';
  const [scenario, setScenario] = useState('quick');
  return (
    <>
      <section>
        <h2>Running</h2>
        {drills?.running.length ? (
          drills.running.map((run) => <RunLive key={run.runId} run={run} />)
        ) : (
          <p>No run in progress.</p>
        )}
      </section>
      <section>
        <h2>Past runs</h2>
        <table data-testid="past-runs">
          <thead>
            <tr>
              <th>run</th>
              <th>runbook</th>
              <th>params</th>
              <th>status</th>
              <th>started</th>
              <th>RTO</th>
              <th>unavailable</th>
              <th>RPO after replay</th>
              <th>report</th>
            </tr>
          </thead>
          <tbody>
            {(drills?.recent ?? []).map((run) => (
              <tr key={run.runId}>
                <td>{run.shortId}</td>
                <td>{run.runbook}</td>
                <td>
                  {String(run.params.app ?? '')} → {String(run.params.target ?? '')}
                </td>
                <td>
                  <Badge tone={run.status === 'completed' ? 'ok' : 'bad'} text={run.status.toUpperCase()} />
                  {run.message && <span class="detail"> {run.message}</span>}
                </td>
                <td>{new Date(run.startedAt).toLocaleTimeString()}</td>
                <td class="num">{ms(run.rtoMs)}</td>
                <td class="num">{ms(run.unavailabilityMs)}</td>
                <td class="num">{n(run.rpoAfterReplay)}</td>
                <td>
                  {run.report ? (
                    <a href={run.report} target="_blank" rel="noreferrer">
                      report
                    </a>
                  ) : (
                    '–'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Game days</h2>
        <select
          data-testid="gameday-scenario"
          aria-label="scenario"
          value={scenario}
          onChange={(e) => setScenario((e.target as HTMLSelectElement).value)}
        >
          {(drills?.scenarios ?? ['quick']).map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>{' '}
        <button
          data-testid="gameday-run"
          disabled={!drills?.gamedayAvailable}
          title={
            drills?.gamedayAvailable ? '' : 'game days need the local generator: run `tsr gameday` from a terminal'
          }
          onClick={() =>
            props.ask({
              title: `Run the game day ${scenario} (faults, drills, report)?`,
              expected: environment,
              go: (confirm) => props.start('gameday', { scenario, confirm }),
            })
          }
        >
          Run a game day
        </button>
        <ul data-testid="gamedays">
          {(drills?.gamedays ?? []).map((g) => (
            <li key={g.id}>
              {g.id}{' '}
              {g.html && (
                <a href={g.html} target="_blank" rel="noreferrer">
                  report
                </a>
              )}{' '}
              {g.json && (
                <a href={g.json} target="_blank" rel="noreferrer">
                  json
                </a>
              )}
            </li>
          ))}
          {!drills?.gamedays.length && <li>No game day has run in this workspace.</li>}
        </ul>
      </section>
      <FaultsSection sections={props.sections} ask={props.ask} start={props.start} />
    </>
  );
}

function ReconcilePage(props: { sections: Sections; ask: Ask; start: Start }) {
  const [since, setSince] = useState('15m');
  const last = props.sections.reconcile?.last;
  const environment = props.sections.meta?.environment ?? '';
  return (
    <section>
      <div class="row">
        <label>
          window <input value={since} onInput={(e) => setSince((e.target as HTMLInputElement).value)} />
        </label>
        <button data-testid="reconcile-run" onClick={() => props.start('reconcile', { since })}>
          Run reconcile
        </button>
        <button
          class="danger"
          onClick={() =>
            props.ask({
              title: `Replay what is missing in the last ${since} (re-inject, audit, re-check)?`,
              expected: environment,
              go: (confirm) => props.start('replay', { since, confirm }),
            })
          }
        >
          Replay
        </button>
      </div>
      {!last ? (
        <p>No reconcile has run in this workspace yet.</p>
      ) : (
        <>
          <p data-testid="reconcile-last">
            {new Date(last.at).toLocaleTimeString()} by {last.by} · {last.window} · compared {n(last.totals.compared)} ·{' '}
            <Badge
              tone={last.totals.missing ? 'bad' : 'ok'}
              text={last.totals.missing ? `${last.totals.missing} MISSING` : 'NO GAPS'}
            />
            {last.replayed && ' (after replay)'}
          </p>
          <table data-testid="hops">
            <thead>
              <tr>
                <th>hop</th>
                <th>upstream</th>
                <th>downstream</th>
                <th>missing</th>
                <th>held</th>
                <th>extra</th>
                <th>checked</th>
              </tr>
            </thead>
            <tbody>
              {last.hops.map((h) => (
                <tr key={h.name} data-testid={`hop-${h.name}`}>
                  <td>{h.name}</td>
                  <td class="num" data-testid="hop-upstream">
                    {n(h.upstream)}
                  </td>
                  <td class="num" data-testid="hop-downstream">
                    {n(h.downstream)}
                  </td>
                  <td class={`num ${h.missing ? 'bad-text' : ''}`}>{n(h.missing)}</td>
                  <td class="num">{n(h.held)}</td>
                  <td class="num">{n(h.extra)}</td>
                  <td>
                    <Badge tone={h.checked ? 'ok' : 'warn'} text={h.checked ? 'YES' : 'NO'} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {last.notes.map((note) => (
            <p key={note} class="detail">
              {note}
            </p>
          ))}
        </>
      )}
    </section>
  );
}

function ChartsPage(props: { samples: readonly Sample[]; sections: Sections }) {
  return (
    <div class="charts">
      {CHARTS.map((spec) => (
        <Chart key={spec.title} spec={spec} samples={props.samples} markers={props.sections.markers ?? []} />
      ))}
    </div>
  );
}

/** The views as the server had them when it sent the page (the stream takes over from there). */
function initialSections(): Sections {
  try {
    return JSON.parse(document.getElementById('initial')?.textContent ?? '{}') as Sections;
  } catch {
    return {};
  }
}

function currentView(): View {
  const hash = location.hash.slice(1) as View;
  return VIEWS.includes(hash) ? hash : 'flow';
}

function App() {
  const [sections, setSections] = useState<Sections>(initialSections);
  const [samples, setSamples] = useState<Sample[]>([]);
  const [connected, setConnected] = useState(false);
  const [view, setView] = useState<View>(currentView());
  const [pending, setPending] = useState<Pending>();
  const [startError, setStartError] = useState<ActionError>();

  useEffect(() => {
    const onHash = () => setView(currentView());
    window.addEventListener('hashchange', onHash);
    const close = connect({
      section: (name, value) => setSections((s) => ({ ...s, [name]: value })),
      history: (all) => setSamples(all),
      sample: (sample) => setSamples((all) => [...all.filter((s) => s.t >= sample.t - HISTORY_MS), sample]),
      connected: setConnected,
    });
    return () => {
      close();
      window.removeEventListener('hashchange', onHash);
    };
  }, []);

  const start: Start = (name, request) => {
    setStartError(undefined);
    void act(name, request).then(setStartError);
  };
  const meta = sections.meta as DashboardSections['meta'] | undefined;
  return (
    <>
      <header class="top">
        <h1>tsr control room</h1>
        <span>{meta?.environment}</span>
        <Badge tone={connected ? 'ok' : 'bad'} text={connected ? 'LIVE' : 'RECONNECTING'} testid="connection" />
        {meta && (
          <Badge
            tone={meta.deployment === 'ready' || meta.deployment === 'remote' ? 'ok' : 'warn'}
            text={`platform ${meta.deployment.toUpperCase()}${meta.deployment === 'starting' && meta.phase ? `: ${meta.phase}` : ''}`}
          />
        )}
        {meta?.error && <Badge tone="bad" text={`UNREADABLE: ${meta.error}`} testid="platform-error" />}
        <nav>
          {VIEWS.map((v) => (
            <a key={v} href={`#${v}`} class={v === view ? 'current' : ''} data-testid={`tab-${v}`}>
              {v}
            </a>
          ))}
        </nav>
      </header>
      <div class="body">
        <main>
          {view === 'flow' && <FlowPage sections={sections} ask={setPending} start={start} />}
          {view === 'health' && <HealthPage sections={sections} />}
          {view === 'drills' && <DrillsPage sections={sections} ask={setPending} start={start} />}
          {view === 'reconcile' && <ReconcilePage sections={sections} ask={setPending} start={start} />}
          {view === 'charts' && <ChartsPage samples={samples} sections={sections} />}
        </main>
        <ActionsPanel actions={sections.actions} startError={startError} />
      </div>
      {pending && <Confirm pending={pending} close={() => setPending(undefined)} />}
    </>
  );
}

const root = document.getElementById('app') as HTMLElement;
root.textContent = ''; // the "connecting" line of the page shell
render(<App />, root);

/** The game-day fault library by hand: inject one (held until undone), and undo what is active. */
function FaultsSection(props: { sections: Sections; ask: Ask; start: Start }) {
  const drills = props.sections.drills;
  const environment = props.sections.meta?.environment ?? '';
  const regions = props.sections.meta?.regions ?? [];
  const kinds = drills?.faultKinds ?? [];
  const [kind, setKind] = useState('');
  const [fields, setFields] = useState<Record<string, string>>({});
  const chosen = kinds.find((k) => k.kind === kind) ?? kinds[0];
  const value = (name: string, fallback: string) => fields[name] ?? fallback;
  const set = (name: string) => (e: Event) => setFields({ ...fields, [name]: (e.target as HTMLSelectElement).value });
  const needs = new Set(chosen?.needs ?? []);
  const picker = (name: string, options: readonly string[]) => (
    <label>
      {name}{' '}
      <select data-testid={`fault-${name}`} value={value(name, options[0] ?? '')} onChange={set(name)}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>{' '}
    </label>
  );
  return (
    <section>
      <h2>Faults</h2>
      <p class="detail">{chosen?.does}</p>
      <label>
        fault{' '}
        <select
          data-testid="fault-kind"
          value={chosen?.kind ?? ''}
          onChange={(e) => setKind((e.target as HTMLSelectElement).value)}
        >
          {kinds.map((k) => (
            <option key={k.kind} value={k.kind}>
              {k.kind}
            </option>
          ))}
        </select>{' '}
      </label>
      {needs.has('app') && picker('app', ['trade', 'settlement'])}
      {needs.has('stage') && picker('stage', ['inbound-gateway', 'ingestion', 'core', 'egress', 'outbound-gateway'])}
      {needs.has('region') && picker('region', regions)}
      {needs.has('endpoints') && picker('endpoints', ['all-but-one', 'all'])}
      {needs.has('delay') && picker('delay', ['1000', '2000', '5000', '10000'])}
      <button
        data-testid="fault-inject"
        disabled={!chosen}
        onClick={() =>
          chosen &&
          props.ask({
            title: `Inject ${chosen.kind}? It stays until you undo it.`,
            expected: environment,
            go: (confirm) =>
              props.start('fault.inject', {
                kind: chosen.kind,
                app: value('app', 'trade'),
                stage: value('stage', 'inbound-gateway'),
                region: value('region', regions[0] ?? ''),
                endpoints: value('endpoints', 'all-but-one') === 'all' ? 'all' : 'all-but-one',
                delayMs: Number(value('delay', '1000')),
                confirm,
              }),
          })
        }
      >
        Inject
      </button>
      <h3>Active faults</h3>
      <ul data-testid="active-faults">
        {(drills?.activeFaults ?? []).map((f) => (
          <li key={`${f.runId}/${f.id}`} data-testid="active-fault">
            {f.summary} <span class="detail">({f.runId === 'dashboard' ? 'from this page' : `run ${f.runId}`})</span>{' '}
            <button data-testid="fault-undo" onClick={() => props.start('fault.undo', { id: f.id, runId: f.runId })}>
              Undo
            </button>
          </li>
        ))}
        {!drills?.activeFaults.length && <li>None.</li>}
      </ul>
    </section>
  );
}
