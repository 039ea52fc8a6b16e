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
