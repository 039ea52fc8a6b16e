// The dashboard's build: `vite build` in ui/ writes ui/dist, which the daemon serves (src/server/static.ts).
// No external requests: everything (Preact, uPlot, styles) is bundled; no web fonts, no CDN.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
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
