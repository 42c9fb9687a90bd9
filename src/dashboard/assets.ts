// The built page (dist/web, made by scripts/build-web.mjs at `npm run build`): found beside the
// compiled code, read once. Nothing is fetched from anywhere else.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** dist/web, from dist/src/dashboard/assets.js. */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

export interface PageAssets {
  html: string;
  js: string;
  css: string;
}

export class DashboardNotBuiltError extends Error {
  override name = 'DashboardNotBuiltError';
}

export function loadAssets(dir = WEB_DIR): PageAssets {
  const file = (name: string) => {
    const path = `${dir}${name}`;
    if (!existsSync(path)) throw new DashboardNotBuiltError(`the dashboard is not built (${path} is missing): run npm run build`);
    return readFileSync(path, 'utf8');
  };
  return { html: file('index.html'), js: file('app.js'), css: file('app.css') };
}

const MARK = /<!--orb:(styles|script|data)-->/g;

/** The page for the server: assets by URL, no data (the page asks /v1/ for it). */
export function servedPage(a: PageAssets): string {
  return a.html.replace(MARK, (_m, what: string) =>
    what === 'styles' ? '<link rel="stylesheet" href="/assets/app.css">' : what === 'script' ? '<script src="/assets/app.js" defer></script>' : '',
  );
}

/** `</script` inside embedded text would end the element early. */
const scriptSafe = (s: string) => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');

/** One self-contained file: styles, script and the answers inline. */
export function reportPage(a: PageAssets, data: unknown): string {
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return a.html.replace(MARK, (_m, what: string) =>
    what === 'styles'
      ? `<style>${a.css.replace(/<\/style/gi, '<\\/style')}</style>`
      : what === 'script'
        ? `<script>${scriptSafe(a.js)}</script>`
        : `<script type="application/json" id="orb-report-data">${json}</script>`,
  );
}
