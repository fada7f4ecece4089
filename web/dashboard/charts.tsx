/** Charts of the last 15 minutes with uPlot, markers (faults, runbook steps, actions) drawn as vertical lines. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { ChartMarker, Sample } from '../../src/dashboard/view-model.js';

export interface ChartSpec {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly { readonly key: keyof Sample; readonly label: string; readonly colour: string }[];
}

export const CHARTS: readonly ChartSpec[] = [
  {
    title: 'Offered vs confirmed (pairs/s)',
    unit: '/s',
    series: [
      { key: 'offered', label: 'offered', colour: '#4ea1ff' },
      { key: 'confirmed', label: 'confirmed', colour: '#3ecf8e' },
    ],
  },
  {
    title: 'Submit → MATCHED latency (ms)',
    unit: 'ms',
    series: [
      { key: 'p50', label: 'p50', colour: '#f5c542' },
      { key: 'p99', label: 'p99', colour: '#ff7a45' },
    ],
  },
  { title: 'Replication lag, worst (ms)', unit: 'ms', series: [{ key: 'lagMs', label: 'lag', colour: '#c084fc' }] },
  { title: 'Backlog (records waiting)', unit: '', series: [{ key: 'backlog', label: 'backlog', colour: '#ff5470' }] },
];

const MARKER_COLOUR: Record<ChartMarker['kind'], string> = { fault: '#ff5470', step: '#8892a6', action: '#f5c542' };

function columns(samples: readonly Sample[], spec: ChartSpec): uPlot.AlignedData {
  return [samples.map((s) => s.t / 1000), ...spec.series.map((s) => samples.map((p) => p[s.key] as number | null))];
}

function markerPlugin(markers: () => readonly ChartMarker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.font = `${10 * devicePixelRatio}px sans-serif`;
        let labelRow = 0;
        for (const marker of markers()) {
          const x = u.valToPos(marker.t / 1000, 'x', true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = MARKER_COLOUR[marker.kind];
          ctx.setLineDash(marker.kind === 'step' ? [2, 4] : []);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          if (marker.kind !== 'step') {
            ctx.fillStyle = MARKER_COLOUR[marker.kind];
            ctx.fillText(marker.label, x + 3, top + 12 * devicePixelRatio * (1 + (labelRow++ % 4)));
          }
        }
        ctx.restore();
      },
    },
  };
}

export function Chart(props: { spec: ChartSpec; samples: readonly Sample[]; markers: readonly ChartMarker[] }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const markers = useRef(props.markers);
  markers.current = props.markers;

  useEffect(() => {
    const element = host.current as HTMLDivElement;
    const options: uPlot.Options = {
      width: Math.max(300, element.clientWidth),
      height: 180,
      plugins: [markerPlugin(() => markers.current)],
      scales: { x: { time: true } },
      axes: [
        { stroke: '#aab3c5', grid: { stroke: '#2a3142' } },
        { stroke: '#aab3c5', grid: { stroke: '#2a3142' }, size: 60 },
      ],
      series: [{}, ...props.spec.series.map((s) => ({ label: s.label, stroke: s.colour, width: 2, spanGaps: false }))],
    };
    plot.current = new uPlot(options, columns(props.samples, props.spec), element);
    const resize = () => plot.current?.setSize({ width: Math.max(300, element.clientWidth), height: 180 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(columns(props.samples, props.spec));
  }, [props.samples, props.markers]);

  return (
    <section class="chart" data-testid={`chart-${props.spec.series[0].key}`}>
      <h3>{props.spec.title}</h3>
      <div ref={host} />
    </section>
  );
}
