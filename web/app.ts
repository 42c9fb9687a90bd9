// The dashboard page: filters in the URL, each panel loaded on its own (one slow or failing
// panel never blanks the others), a token asked once per tab, and the same code for the static
// report, which reads embedded answers instead of the API.
import { facetsRequest, panelRequests, routeRequests, WINDOWS, type ApiRequest, type Filters, type PanelId, type WindowDays } from '../src/dashboard/requests';
import { AuthRequired, LiveSource, ReportSource, reportData, type Source } from './api';
import { el } from './dom';
import { renderCost, renderFeedback, renderHealth, renderPatterns, renderPolicies, renderPools, renderRoute, renderTiers, type QueryAnswer, type Row } from './panels';

declare global {
  interface Window {
    /** Per panel: time waiting for its turn, for its answers, drawing; when it was drawn (from navigation start). Read by the benchmark. */
    __orbTimings: Record<string, { queued_ms: number; fetch_ms: number; render_ms: number; done_at_ms: number; state: string }>;
  }
}

const report = reportData();
const source: Source = report ? new ReportSource(report) : new LiveSource();
window.__orbTimings = {};

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;

function readFilters(): Filters {
  if (report) return report.filters;
  const q = new URLSearchParams(location.search);
  const d = Number(q.get('days'));
  return { days: (WINDOWS as readonly number[]).includes(d) ? (d as WindowDays) : 30, task_type: q.get('task_type') || undefined, repo: q.get('repo') || undefined };
}

let filters = readFilters();
let costBy: 'tier' | 'task_type' = 'tier';

function writeFilters(f: Filters): void {
  filters = f;
  const q = new URLSearchParams();
  q.set('days', String(f.days));
  if (f.task_type) q.set('task_type', f.task_type);
  if (f.repo) q.set('repo', f.repo);
  history.replaceState(null, '', `${location.pathname}?${q}${location.hash}`);
}

function panel(id: string) {
  const section = document.getElementById(id)!;
  return { section, status: section.querySelector('.status') as HTMLElement, body: section.querySelector('.body') as HTMLElement };
}

function setStatus(id: string, state: 'loading' | 'ready' | 'empty' | 'error' | 'auth', message = ''): void {
  const p = panel(id);
  p.section.dataset.state = state;
  p.section.setAttribute('aria-busy', String(state === 'loading'));
  p.status.textContent = message;
  p.status.classList.toggle('error', state === 'error');
}

const started = () => performance.now();

/**
 * Panels ask in reading order, a few at a time: the server has a handful of read connections and
 * the page one thread, so asking everything at once only makes every panel wait for all the rest.
 */
const PANELS_AT_ONCE = 3;
let inFlight = 0;
const waiting: (() => void)[] = [];
async function turn<T>(fn: () => Promise<T>): Promise<T> {
  if (inFlight >= PANELS_AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  inFlight++;
  try {
    return await fn();
  } finally {
    inFlight--;
    waiting.shift()?.();
  }
}

/** A panel: fetch what it needs, draw it, record how long each part took (from its requests leaving). */
function load(id: string, fetchAll: () => Promise<unknown[]>, draw: (answers: unknown[]) => Node[]): Promise<void> {
  setStatus(id, 'loading', 'Loading…');
  const queued = started();
  return turn(() => loadNow(id, fetchAll, draw, started() - queued));
}

async function loadNow(id: string, fetchAll: () => Promise<unknown[]>, draw: (answers: unknown[]) => Node[], queued_ms: number): Promise<void> {
  const t0 = started();
  try {
    const answers = await fetchAll();
    const t1 = started();
    const nodes = draw(answers);
    panel(id).body.replaceChildren(...nodes);
    const empty = nodes.length === 1 && (nodes[0] as HTMLElement).dataset?.empty !== undefined;
    setStatus(id, empty ? 'empty' : 'ready');
    window.__orbTimings[id] = { queued_ms, fetch_ms: t1 - t0, render_ms: started() - t1, done_at_ms: started(), state: empty ? 'empty' : 'ready' };
  } catch (err) {
    if (err instanceof AuthRequired) {
      setStatus(id, 'auth', 'Waiting for a token.');
      askToken(err.message);
    } else setStatus(id, 'error', `Could not load: ${(err as Error).message}`);
    window.__orbTimings[id] = { queued_ms, fetch_ms: started() - t0, render_ms: 0, done_at_ms: started(), state: 'error' };
  }
}

const get = <T>(r: ApiRequest) => source.get<T>(r);
const getAll = (rs: ApiRequest[]) => () => Promise.all(rs.map((r) => get<unknown>(r)));

function askToken(reason: string): void {
  const box = $('#auth');
  if (!box.hidden) return;
  box.hidden = false;
  $('#auth-error').textContent = reason === 'the token was refused' ? 'That token was refused: try again.' : '';
  $<HTMLInputElement>('#auth-token').focus();
}

async function loadFacets(): Promise<void> {
  const f = await get<QueryAnswer>(facetsRequest(filters.days)).catch((err: unknown) => {
    if (err instanceof AuthRequired) askToken(err.message);
    return null;
  });
  if (!f) return;
  for (const facet of ['task_type', 'repo'] as const) {
    const select = $<HTMLSelectElement>(`#f-${facet}`);
    const current = filters[facet] ?? '';
    const values = f.rows.filter((r) => r.facet === facet).map((r) => ({ value: String(r.value), n: Number(r.executions) }));
    if (current && !values.some((v) => v.value === current)) values.unshift({ value: current, n: 0 });
    select.replaceChildren(select.options[0]!, ...values.map((v) => el('option', { value: v.value, text: `${v.value} (${v.n.toLocaleString('en-US')})` })));
    select.value = current;
  }
  const ever = Number(f.answer?.executions_ever ?? 0);
  $('#empty').hidden = ever > 0;
  document.body.dataset.empty = String(ever === 0);
}

async function loadAll(): Promise<void> {
  document.body.dataset.ready = 'false';
  const r = panelRequests(filters);
  await Promise.all([
    loadFacets(),
    load('tiers', getAll(r.tiers), ([t, d]) => renderTiers(t as QueryAnswer, d as QueryAnswer)),
    loadCost(),
    load('pools', getAll(r.pools), ([a]) => renderPools(a as QueryAnswer)),
    load('patterns', getAll(r.patterns), ([a]) => renderPatterns(a as QueryAnswer)),
    load('feedback', getAll(r.feedback), ([a]) => renderFeedback(a as QueryAnswer)),
    load('policies', getAll(r.policies), ([c, h]) => renderPolicies(c as Row[], h as Row[])),
    load('health', getAll(r.health), ([h]) => renderHealth(h as Parameters<typeof renderHealth>[0])),
  ]);
  document.body.dataset.ready = 'true';
}

function loadCost(): Promise<void> {
  const reqs = panelRequests(filters).cost;
  const req = reqs.find((q) => q.params.by === costBy)!;
  return load('cost', () => Promise.all([get(req)]), ([a]) => renderCost(a as QueryAnswer, costBy));
}

async function route(text: string): Promise<void> {
  const r = routeRequests(text, filters);
  await load('route', () => Promise.all([get(r.recommend), get(r.similar)]), ([rec, sim]) =>
    renderRoute(rec as QueryAnswer, sim as QueryAnswer, (taskType) => {
      writeFilters({ ...filters, task_type: taskType });
      void loadAll();
      $('#tiers').focus();
    }),
  );
}

// ---- controls -------------------------------------------------------------------------------

const THEMES = ['auto', 'light', 'dark'] as const;
function applyTheme(t: (typeof THEMES)[number]): void {
  document.documentElement.dataset.theme = t;
  const b = $('#theme');
  b.textContent = `Theme: ${t}`;
  b.setAttribute('aria-label', t === 'auto' ? 'Colour theme: follows the system' : `Colour theme: ${t}`);
}
const savedTheme = (() => {
  try {
    return localStorage.getItem('orb-learn.theme');
  } catch {
    return null;
  }
})();
applyTheme((THEMES as readonly string[]).includes(savedTheme ?? '') ? (savedTheme as (typeof THEMES)[number]) : 'auto');
$('#theme').addEventListener('click', () => {
  const next = THEMES[(THEMES.indexOf(document.documentElement.dataset.theme as (typeof THEMES)[number]) + 1) % THEMES.length]!;
  applyTheme(next);
  try {
    localStorage.setItem('orb-learn.theme', next);
  } catch {
    /* a report opened from a file may have no storage: the choice lasts for the page */
  }
});

function syncControls(): void {
  $<HTMLSelectElement>('#f-task_type').value = filters.task_type ?? '';
  $<HTMLSelectElement>('#f-repo').value = filters.repo ?? '';
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="days"]')) r.checked = Number(r.value) === filters.days;
}

$('#filters').addEventListener('submit', (e) => e.preventDefault());
$('#filters').addEventListener('change', (e) => {
  const t = e.target as HTMLInputElement | HTMLSelectElement;
  if (t.name === 'days') writeFilters({ ...filters, days: Number(t.value) as WindowDays });
  else if (t.name === 'task_type' || t.name === 'repo') writeFilters({ ...filters, [t.name]: t.value || undefined });
  else return;
  void loadAll();
});
$('#refresh').addEventListener('click', () => void loadAll());
for (const r of document.querySelectorAll<HTMLInputElement>('input[name="cost-by"]'))
  r.addEventListener('change', () => {
    costBy = r.value as 'tier' | 'task_type';
    void loadCost();
  });

$('#route-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $<HTMLTextAreaElement>('#route-text').value.trim();
  if (text) void route(text);
});

$('#route-text').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $<HTMLFormElement>('#route-form').requestSubmit();
});

$('#auth-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $<HTMLInputElement>('#auth-token').value.trim();
  if (!token || !(source instanceof LiveSource)) return;
  source.setToken(token);
  $('#auth').hidden = true;
  void loadAll();
});

const authHeader = source instanceof LiveSource && source.hasToken ? ` -H "authorization: Bearer $ORB_AUTH_TOKEN"` : '';
$('#empty-curl').textContent = `NOW=$(date +%s)
curl -s -X POST ${location.protocol === 'file:' ? 'http://127.0.0.1:4318' : location.origin}/v1/traces -H 'content-type: application/json'${authHeader} -d @- <<EOF
{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"agent.run",
 "startTimeUnixNano":"$((NOW-45))000000000","endTimeUnixNano":"\${NOW}000000000","attributes":[
 {"key":"execution.task_type","value":{"stringValue":"refactor"}},
 {"key":"execution.task_description","value":{"stringValue":"Refactor the auth middleware to use JWT"}},
 {"key":"execution.repo","value":{"stringValue":"mahavishnu"}},
 {"key":"execution.model_tier","value":{"stringValue":"medium"}},
 {"key":"execution.pool_type","value":{"stringValue":"session-buddy"}},
 {"key":"execution.routing_confidence","value":{"doubleValue":0.82}},
 {"key":"execution.cost_estimate","value":{"doubleValue":0.003}},
 {"key":"execution.actual_cost","value":{"doubleValue":0.0034}}]}]}]}]}
EOF`;

if (report) {
  const f = report.filters;
  $('#source').textContent = `Report for the last ${f.days} days${f.task_type ? `, task type ${f.task_type}` : ''}${f.repo ? `, repository ${f.repo}` : ''} · from ${report.source} · made ${report.generated_at.replace('T', ' ').slice(0, 16)} UTC`;
  for (const c of document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>('#filters select, #filters input, #refresh')) c.disabled = true;
  for (const c of document.querySelectorAll<HTMLTextAreaElement | HTMLButtonElement>('#route-form textarea, #route-form button')) c.disabled = true;
  setStatus('route', 'empty', 'Routing a task needs a running server (the model embeds the description): open the dashboard at / on the HTTP port.');
  document.title = `orb-learn report · last ${f.days} days`;
} else {
  $('#source').textContent = `Live from ${location.host}`;
  setStatus('route', 'empty', 'Describe a task to see which tier the router should pick, and why.');
  // The health panel refreshes itself; the rest on demand.
  setInterval(() => {
    if (document.visibilityState === 'visible' && $('#auth').hidden) void load('health', getAll(panelRequests(filters).health), ([h]) => renderHealth(h as Parameters<typeof renderHealth>[0]));
  }, 30_000);
}
syncControls();
void loadAll().catch((err: unknown) => {
  // Panels catch their own errors: reaching here is a bug in the page. Say so rather than show an empty screen.
  $('#source').textContent = `The page failed: ${(err as Error).message}`;
  throw err;
});
