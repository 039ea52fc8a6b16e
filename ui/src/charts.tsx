// uPlot wrappers: a scatter of outliers over time and a latency histogram. Each owns one uPlot instance, resized
// with its container, and updated with setData (no re-creation per update). The instance is also left on the
// container element (`__uplot`), where the browser tests read what was drawn.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { clockText, formatNs, histogramSteps, tickNs } from './api.ts';

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

/** Latency over time as a heatmap: one rectangle per (time bin, latency bucket), brighter for more pairs. */
export function Heatmap(props: {
  /** Bin start times (x, seconds), one per bin, and the bin width (s). */
  xs: number[];
  binS: number;
  /** Flat `[bin, bucket, count, ...]`; bucket b spans [2^((b-1)/perOctave), 2^(b/perOctave)) ns. */
  cells: number[];
  perOctave: number;
  /** Pairs over the threshold are above this line. */
  threshold: number;
  xLabel: (v: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { xs, binS, cells, perOctave } = props;
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  let most = 1;
  for (let i = 0; i < cells.length; i += 3) {
    const b = cells[i + 1];
    lo = Math.min(lo, b <= 0 ? 1 : 2 ** ((b - 1) / perOctave));
    hi = Math.max(hi, 2 ** (b / perOctave));
    most = Math.max(most, cells[i + 2]);
  }
  if (!Number.isFinite(lo)) [lo, hi] = [1, 10];
  useEffect(() => {
    const el = box.current as HTMLDivElement;
    const x0 = xs.length > 0 ? xs[0] : 0;
    const x1 = xs.length > 0 ? xs[xs.length - 1] + binS : 1;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: false, range: () => [x0, x1] },
        y: { distr: 3, range: () => [Math.max(1, lo / 1.2), hi * 1.2] },
      },
      axes: [
        { ...AXIS, values: (_u, vals) => vals.map((v) => props.xLabel(v)) },
        { ...AXIS, size: 70, splits: decades, values: (_u, vals) => vals.map((v) => (v == null ? '' : formatNs(v))) },
      ],
      series: [{}, { label: 'latency', stroke: 'transparent', paths: () => null, points: { show: false } }],
      hooks: {
        draw: [
          (u) => {
            const c = u.ctx;
            c.save();
            const L = Math.log(1 + most);
            for (let i = 0; i < cells.length; i += 3) {
              const k = cells[i];
              const b = cells[i + 1];
              const n = cells[i + 2];
              const left = u.valToPos(xs[k], 'x', true);
              const right = u.valToPos(xs[k] + binS, 'x', true);
              const top = u.valToPos(2 ** (b / perOctave), 'y', true);
              const bottom = u.valToPos(b <= 0 ? 1 : 2 ** ((b - 1) / perOctave), 'y', true);
              const a = 0.15 + (0.85 * Math.log(1 + n)) / L;
              c.fillStyle = `rgba(245, 165, 36, ${a.toFixed(3)})`;
              c.fillRect(left, top, Math.max(1, right - left), Math.max(1, bottom - top));
            }
            const y = u.valToPos(props.threshold, 'y', true);
            if (y >= u.bbox.top && y <= u.bbox.top + u.bbox.height) {
              c.strokeStyle = '#e5484d';
              c.setLineDash([6, 4]);
              c.beginPath();
              c.moveTo(u.bbox.left, y);
              c.lineTo(u.bbox.left + u.bbox.width, y);
              c.stroke();
            }
            c.restore();
          },
        ],
      },
    };
    plot.current = new uPlot(opts, [xs, xs.map(() => null)], el);
    return () => plot.current?.destroy();
  }, []);
  useSize(box, (w) => plot.current?.setSize({ width: Math.max(300, w), height: 220 }));
  return <div class="chart" ref={box} data-testid="heatmap" />;
}

/** Log-scale axes: ticks, labels and grid lines at powers of ten only. */
const decades = (_u: uPlot, _axis: number, min: number, max: number): number[] => {
  const out: number[] = [];
  for (let e = Math.ceil(Math.log10(Math.max(min, 1))); 10 ** e <= max; e++) out.push(10 ** e);
  return out;
};

const LINE_COLORS = ['#3e63dd', '#30a46c', '#f5a524', '#e5484d', '#9aa4b2'];

/** Lines over time on a log latency scale (percentiles per time bin), with a legend. */
export function Lines(props: {
  xs: number[];
  series: { label: string; values: (number | null)[] }[];
  xLabel: (v: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current as HTMLDivElement;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 200,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, y: { distr: 3 } },
      axes: [
        { ...AXIS, values: (_u, vals) => vals.map((v) => props.xLabel(v)) },
        { ...AXIS, size: 70, splits: decades, values: (_u, vals) => vals.map((v) => (v == null ? '' : formatNs(v))) },
      ],
      series: [
        {},
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: LINE_COLORS[i % LINE_COLORS.length],
          width: 1.5,
          spanGaps: false,
          points: { show: props.xs.length < 40 },
        })),
      ],
    };
    plot.current = new uPlot(opts, [props.xs, ...props.series.map((s) => s.values)] as uPlot.AlignedData, el);
    return () => plot.current?.destroy();
  }, []);
  useSize(box, (w) => plot.current?.setSize({ width: Math.max(300, w), height: 200 }));
  return <div class="chart" ref={box} data-testid="percentiles-over-time" />;
}
