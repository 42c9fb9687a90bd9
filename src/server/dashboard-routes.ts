// The dashboard on the HTTP port (issue 12): the page at / and its assets, open like any page
// without data (under mTLS they still need a client certificate), and its health answer under
// /v1/, behind the bearer token like every other question. The page asks /v1/query/* for the rest.
import { dashboardHealth, IngestRate, type LiveState } from '../dashboard/health.js';
import { DashboardNotBuiltError, loadAssets, servedPage, type PageAssets } from '../dashboard/assets.js';
import { HEALTH_PATH } from '../dashboard/requests.js';
import type { QueryLibrary } from '../query/library.js';
import type { HttpReply } from '../receiver/errors.js';
import type { HttpReceiver } from '../receiver/http.js';
import type { Logger } from '../telemetry/log.js';

const reply = (status: number, type: string, body: string, extra: Record<string, string> = {}): HttpReply => ({
  status,
  headers: { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...extra },
  body: Buffer.from(body),
});

// Plot writes inline style attributes on its SVG; nothing else is inline, nothing comes from elsewhere.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function dashboardRoutes(http: HttpReceiver, queries: Pick<QueryLibrary, 'run'>, live: LiveState, log: Logger): HttpReceiver {
  let assets: PageAssets | null = null;
  let missing: string | null = null;
  try {
    assets = loadAssets();
  } catch (err) {
    if (!(err instanceof DashboardNotBuiltError)) throw err;
    missing = err.message;
    log.warn({ err: err.message }, 'dashboard page not served');
  }
  const page = assets ? servedPage(assets) : null;
  const asset = (type: string, body: (a: PageAssets) => string) => async () =>
    assets ? reply(200, type, body(assets)) : reply(503, 'text/plain; charset=utf-8', `${missing}\n`);
  const rate = new IngestRate(live.startedAt.getTime());
  return http
    .route('GET', '/', async () =>
      page ? reply(200, 'text/html; charset=utf-8', page, { 'content-security-policy': CSP, 'x-frame-options': 'DENY' }) : reply(503, 'text/plain; charset=utf-8', `${missing}\n`),
    )
    .route('GET', '/assets/app.js', asset('text/javascript; charset=utf-8', (a) => a.js))
    .route('GET', '/assets/app.css', asset('text/css; charset=utf-8', (a) => a.css))
    .route('GET', HEALTH_PATH, async () => reply(200, 'application/json', JSON.stringify(await dashboardHealth(queries, { ...live, rate }))));
}
