// uPlot wrappers: a scatter of outliers over time and a latency histogram. Each owns one uPlot instance, resized
// with its container, and updated with setData (no re-creation per update).
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatNs } from './api.ts';

function useSize(ref: { current: HTMLElement | null }, onResize: (w: number) => void) {
  useEffect(() => {
    const el = ref.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => onResize(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
}

const AXIS = { stroke: '#9aa4b2', grid: { stroke: '#2a313c', width: 1 }, ticks: { stroke: '#2a313c', width: 1 } };

/** Outliers as points: x = wall time (s), y = latency (ns, log scale); a dashed line at the threshold. */
export function Scatter(props: { xs: number[]; ys: number[]; threshold: number; spanS: number; nowS: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { xs, ys, threshold, spanS, nowS } = props;
  const data = (): uPlot.AlignedData => [xs, ys];
  const thresholdRef = useRef(threshold);
  thresholdRef.current = threshold;
  useEffect(() => {
    const el = box.current as HTMLDivElement;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: (_u, _min, _max) => [nowRef.current - spanRef.current, nowRef.current] },
        y: {
          distr: 3,
          range: (_u, min, max) => {
            const t = thresholdRef.current;
            const lo = Math.min(min || t, t);
            const hi = Math.max(max || t, t);
            return [Math.max(1, lo / 2), Math.max(10, hi * 2)];
          },
        },
      },
      axes: [{ ...AXIS }, { ...AXIS, size: 70, values: (_u, vals) => vals.map((v) => formatNs(v)) }],
      series: [
        {},
        {
          label: 'latency',
          stroke: '#f5a524',
          paths: () => null,
          points: { show: true, size: 6, stroke: '#f5a524', fill: '#f5a52480' },
        },
      ],
      hooks: {
        // The threshold as a dashed line across the whole plot.
        draw: [
          (u) => {
            const y = u.valToPos(thresholdRef.current, 'y', true);
            if (!(y >= u.bbox.top && y <= u.bbox.top + u.bbox.height)) return;
            const c = u.ctx;
            c.save();
            c.strokeStyle = '#e5484d';
            c.setLineDash([6, 4]);
            c.lineWidth = 1;
            c.beginPath();
            c.moveTo(u.bbox.left, y);
            c.lineTo(u.bbox.left + u.bbox.width, y);
            c.stroke();
            c.restore();
          },
        ],
      },
    };
    plot.current = new uPlot(opts, data(), el);
    return () => plot.current?.destroy();
  }, []);
  const nowRef = useRef(nowS);
  const spanRef = useRef(spanS);
  nowRef.current = nowS;
  spanRef.current = spanS;
  useEffect(() => {
    plot.current?.setData(data());
  }, [xs, ys, threshold, nowS]);
  useSize(box, (w) => plot.current?.setSize({ width: Math.max(300, w), height: 220 }));
  return <div class="chart" ref={box} data-testid="scatter" />;
}

/** A histogram as bars, one per bin (`[low_ns, high_ns, count]`), labelled with the bins' lower bounds. */
export function Histogram(props: { buckets: [number, number, number][] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const bins = useRef(props.buckets);
  bins.current = props.buckets;
  const data = (): uPlot.AlignedData => [props.buckets.map((_, i) => i), props.buckets.map((b) => b[2])];
  useEffect(() => {
    const el = box.current as HTMLDivElement;
    const bars = uPlot.paths.bars?.({ size: [0.9, 40] });
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 180,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        {
          ...AXIS,
          values: (_u, vals) =>
            vals.map((v) => (Number.isInteger(v) && bins.current[v] ? formatNs(bins.current[v][0]) : '')),
        },
        { ...AXIS, size: 72 },
      ],
      series: [{}, { label: 'pairs', fill: '#3e63dd99', stroke: '#3e63dd', paths: bars, points: { show: false } }],
    };
    plot.current = new uPlot(opts, data(), el);
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData(data());
  }, [props.buckets]);
  useSize(box, (w) => plot.current?.setSize({ width: Math.max(300, w), height: 180 }));
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
