// The report page's build (issue 16): ui/report.html -> ui/dist-report/report.html, ONE file with its JS and CSS
// inlined (no other asset), which `analyze --report` and the daemon fill with a run's data. Built by
// ui/vite.config.ts after the dashboard, or alone: `vite build --config ui/vite.report.config.ts`.
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

/** Moves the entry chunk and the CSS into the HTML page and drops them from the output. */
function inlineIntoPage(): Plugin {
  return {
    name: 'latency-tracker-inline-report',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const page = Object.values(bundle).find((a) => a.type === 'asset' && a.fileName.endsWith('.html'));
      if (page === undefined || page.type !== 'asset') throw new Error('report build: no HTML page');
      let html = String(page.source);
      for (const [key, item] of Object.entries(bundle)) {
        const file = item.fileName;
        const esc = file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        if (item.type === 'chunk') {
          const tag = new RegExp(`<script[^>]*src="[^"]*${esc}"[^>]*></script>`);
          if (!tag.test(html)) throw new Error(`report build: chunk ${file} is not the page's entry`);
          const code = item.code.replace(/<\/script/gi, '<\\/script');
          html = html.replace(tag, () => `<script type="module">${code}</script>`);
          delete bundle[key];
        } else if (file.endsWith('.css')) {
          const tag = new RegExp(`<link[^>]*href="[^"]*${esc}"[^>]*>`);
          const css = String(item.source).replace(/<\/style/gi, '<\\/style');
          html = html.replace(tag, () => `<style>${css}</style>`);
          delete bundle[key];
        }
      }
      if (/(src|href)="\.?\/?assets\//.test(html)) throw new Error('report build: an asset is still referenced');
      page.source = html;
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  plugins: [inlineIntoPage()],
  build: {
    outDir: 'dist-report',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 100_000_000,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
    rollupOptions: { input: fileURLToPath(new URL('./report.html', import.meta.url)) },
  },
});
