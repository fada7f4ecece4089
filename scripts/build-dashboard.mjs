// Bundles the dashboard page (web/dashboard) with its libraries into dist/dashboard/page/app.js and app.css:
// nothing is fetched at run time, so the page works offline. Part of `npm run build`.
import { build } from 'esbuild';

await build({
  entryPoints: { app: 'web/dashboard/app.tsx' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: 'dist/dashboard/page',
  legalComments: 'none',
  logLevel: 'warning',
});
