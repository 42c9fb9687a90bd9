// Builds the dashboard page into dist/web at `npm run build` (and so at `npm install`, through
// prepare): web/app.ts and the chart library bundled into one script by esbuild, the HTML and CSS
// copied. Nothing is loaded from a CDN: the server and `orb-learn report` use these files only.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const out = 'dist/web';
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ['web/app.ts'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  outfile: `${out}/app.js`,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync('web/index.html', `${out}/index.html`);
copyFileSync('web/app.css', `${out}/app.css`);
