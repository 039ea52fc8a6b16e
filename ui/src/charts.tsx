// uPlot wrappers: a scatter of outliers over time and a latency histogram. Each owns one uPlot instance, resized
// with its container, and updated with setData (no re-creation per update). The instance is also left on the
// container element (`__uplot`), where the browser tests read what was drawn.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { clockText, histogramSteps, tickNs } from './api.ts';

function useSize(ref: { current: HTMLElement | null }, onResize: (w: number) => void) {
  useEffect(() => {
    const el = ref.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => onResize(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
}

const AXIS = {
  stroke: '#9aa4b2',
  grid: { stroke: '#2a313c', width: 1 },
  ticks: { stroke: '#2a313c', width: 1 },
  labelFont: '12px system-ui, sans-serif',
  font: '11px system-ui, sans-serif',
};
const THRESHOLD = '#e5484d';
const POINT = '#f5a524';

/**
 * Outliers as points: x = wall time (s), y = latency (ns, log scale). `th` is the threshold in force at each x (a
 * dashed step line; null where it is not known), so a point is seen against the threshold of its own time.
 */
export function Scatter(props: {
  xs: number[];
  ys: (number | null)[];
  th: (number | null)[];
  spanS: number;
  nowS: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { xs, ys, th, spanS, nowS } = props;
  const data = (): uPlot.AlignedData => [xs, ys, th];
  const nowRef = useRef(nowS);
  const spanRef = useRef(spanS);
  nowRef.current = nowS;
  spanRef.current = spanS;
  useEffect(() => {
    const el = box.current as HTMLDivElement;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 240,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: () => [nowRef.current - spanRef.current, nowRef.current] },
        y: {
          distr: 3,
          range: (u, min, max) => {
            const t = (u.data[2] as (number | null)[]).filter((v): v is number => v !== null);
            const lo = Math.min(min || Number.POSITIVE_INFINITY, ...t);
            const hi = Math.max(max || 0, ...t);
            if (!Number.isFinite(lo) || hi <= 0) return [1e3, 1e9];
            return [Math.max(1, lo / 2), Math.max(10, hi * 2)];
          },
        },
      },
      axes: [
        {
          ...AXIS,
          label: 'time (local)',
          // One label per tick, far enough apart that they never overlap: HH:MM:SS only (the date is in the title).
          space: 90,
          values: (_u, vals) => vals.map((v) => (v === null ? '' : clockText(v * 1000).slice(0, 8))),
        },
        { ...AXIS, label: 'latency', size: 78, values: (_u, vals) => vals.map((v) => tickNs(v)) },
      ],
      series: [
        {},
        {
          label: 'outlier',
          stroke: POINT,
          paths: () => null,
          points: { show: true, size: 6, stroke: POINT, fill: `${POINT}80` },
        },
        {
          label: 'threshold in force',
          stroke: THRESHOLD,
          dash: [6, 4],
          width: 1,
          paths: uPlot.paths.stepped?.({ align: 1 }),
          points: { show: false },
          spanGaps: false,
        },
      ],
    };
    plot.current = new uPlot(opts, data(), el);
    (el as HTMLDivElement & { __uplot?: uPlot }).__uplot = plot.current;
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData(data());
  }, [xs, ys, th, nowS]);
  useSize(box, (w) => plot.current?.setSize({ width: Math.max(300, w), height: 240 }));
  return (
    <div>
      <div class="chart" ref={box} data-testid="scatter" />
      <div class="legend" data-testid="scatter-legend">
        <span class="key point" /> outlier <span class="key dash" /> threshold in force when it was recorded
      </div>
    </div>
  );
}

/** A histogram over a log latency axis: pairs per bin (each bin 19 % wide), gaps where no pair fell. */
export function Histogram(props: { buckets: [number, number, number][] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => histogramSteps(props.buckets);
  useEffect(() => {
    const el = box.current as HTMLDivElement;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 200,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: {
          time: false,
          distr: 3,
          log: 2,
          range: (_u, min, max) => (min > 0 && max > 0 ? [min / 1.2, max * 1.2] : [1e3, 1e9]),
        },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        { ...AXIS, label: 'latency (log scale)', space: 70, values: (_u, vals) => vals.map((v) => tickNs(v)) },
        { ...AXIS, label: 'pairs per bin', size: 72 },
      ],
      series: [
        {},
        {
          label: 'pairs',
          fill: '#3e63dd99',
          stroke: '#3e63dd',
          paths: uPlot.paths.stepped?.({ align: 1 }),
          points: { show: false },
        },
      ],
    };
    plot.current = new uPlot(opts, data(), el);
    (el as HTMLDivElement & { __uplot?: uPlot }).__uplot = plot.current;
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData(data());
  }, [props.buckets]);
  useSize(box, (w) => plot.current?.setSize({ width: Math.max(300, w), height: 200 }));
  return <div class="chart" ref={box} data-testid="histogram" />;
}
