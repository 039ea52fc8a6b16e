/**
 * `analyze FILE --report out.html` and the daemon's report (issue 16): the report page built from the dashboard's
 * sources (`ui/dist-report/report.html`, one self-contained file) filled with a run's data (`sinks/report.ts`).
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../analyses/engine.ts';
import { type ReportMeta, renderReport, reportData, type WorstOutliers } from '../sinks/report.ts';
import { SetupError } from '../sources/errors.ts';
import type { SourceStats } from '../sources/types.ts';

/** The built report page: `ui/dist-report/report.html` at the package root (from `src/cli/` or `dist/cli/`). */
export const REPORT_TEMPLATE = fileURLToPath(new URL('../../ui/dist-report/report.html', import.meta.url));

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The report template, or a clear sentence when it was not built. */
export function reportTemplate(path = REPORT_TEMPLATE): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new SetupError(`the report page is not built (no ${path}): run sh scripts/prepare.sh`);
  }
}

/** Writes the report of a finished run to `out` (via a temporary file). Returns its size in bytes. */
export function writeReport(
  out: string,
  template: string,
  engine: Engine,
  stats: SourceStats,
  meta: ReportMeta,
  worst: WorstOutliers,
): number {
  const html = renderReport(template, reportData(engine, stats, meta, worst));
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, html);
    renameSync(tmp, out);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // not created
    }
    throw new SetupError(`cannot write the report ${out} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return Buffer.byteLength(html);
}
