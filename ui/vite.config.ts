// The dashboard's build: `vite build` in ui/ writes ui/dist, which the daemon serves (src/server/static.ts).
// No external requests: everything (Preact, uPlot, styles) is bundled; no web fonts, no CDN.
import { fileURLToPath } from 'node:url';
import { build, defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  plugins: [
    {
      // The self-contained report page (ui/vite.report.config.ts) is built with the dashboard.
      name: 'latency-tracker-report-page',
      apply: 'build',
      async closeBundle() {
        await build({ configFile: fileURLToPath(new URL('./vite.report.config.ts', import.meta.url)) });
      },
    },
  ],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 200,
  },
});
