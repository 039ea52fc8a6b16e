/**
 * Self time per function of a V8 `.cpuprofile` (from `npm run bench:overhead -- --cpu-prof DIR`, or any
 * `node --cpu-prof` run), over a time window, so that start-up (format parsing, buffer allocation) does not hide the
 * steady state:
 *
 *   node --import tsx bench/overhead/profile.ts FILE.cpuprofile [--from S] [--to S] [--top N]
 *
 * Prints the busy share of one core in the window (the JS thread, including the system calls it makes) and the
 * functions with the most self time.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !/^\d+(\.\d+)?$/.test(a));
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
if (file === undefined) {
  console.error('usage: profile.ts FILE.cpuprofile [--from S] [--to S] [--top N]');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const from = opt('--from', 0) * 1e6;
const to = opt('--to', Number.POSITIVE_INFINITY) * 1e6;
const top = opt('--top', 25);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let t = p.startTime;
let busy = 0;
let end = 0;
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i];
  const rel = t - p.startTime;
  end = rel;
  if (rel < from || rel > to) continue;
  const cf = (byId.get(p.samples[i]) as ProfileNode).callFrame;
  if (cf.functionName === '(idle)') continue;
  busy += p.timeDeltas[i];
  const where = cf.url === '' ? '' : ` ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
  const key = `${cf.functionName || '(anonymous)'}${where}`;
  self.set(key, (self.get(key) ?? 0) + p.timeDeltas[i]);
}
const span = Math.min(to, end) - from;
console.log(
  `${file}: ${(busy / 1e3).toFixed(0)} ms busy in ${(span / 1e6).toFixed(1)} s = ${((busy / span) * 100).toFixed(2)} % of one core`,
);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(v / 1e3).toFixed(0).padStart(7)} ms ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
}
