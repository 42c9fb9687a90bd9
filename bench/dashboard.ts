/// <reference lib="dom" />
// npm run bench:dashboard [-- --rows 1000000 --loads 12 --runs 20]
// The dashboard at scale: a synth database (vectors per distinct description, ~30% of executions
// with feedback, rejected spans, policies) served by a real `orb-learn serve`, loaded in Debian's
// headless Chromium. Per page load: first contentful paint, each panel's time from its request to
// drawn, and the time until every panel is drawn; per panel request, the API's own latency.
import { loadavg } from 'node:os';
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addDescriptionVectors } from './description-vectors.js';
import { evalTexts } from './eval-set.js';
import { OnnxEmbedder } from '../src/embed/embedder.js';
import { buildOffline, defaultCacheDir, resolveModel } from '../src/embed/model.js';
import { PANELS, panelRequests, requestKey, type Filters } from '../src/dashboard/requests.js';
import { setPolicy } from '../src/policy/policies.js';
import { Store } from '../src/store/db.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { CLI, spawnServe } from '../test/helpers/process.js';
import { tempDir } from '../test/helpers/server.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    loads: { type: 'string', default: '12' },
    runs: { type: 'string', default: '20' },
    eval: { type: 'string', default: '../shared/eval/similar-tasks.jsonl' },
  },
});
const ROWS = Number(values.rows);
const LOADS = Number(values.loads);
const RUNS = Number(values.runs);
const texts = evalTexts(values.eval);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (x: number) => x.toFixed(0);
interface Timing {
  queued_ms: number;
  fetch_ms: number;
  render_ms: number;
  done_at_ms: number;
}

console.log(`load average at start: ${load()}`);
const dir = tempDir('orb-bench-dashboard-');
const db = join(dir, 'bench.duckdb');
let t = performance.now();
const synth = spawnSync(process.execPath, [CLI, 'synth', '--rows', String(ROWS), '--db', db, '--seed', '7', '--no-vectors'], { encoding: 'utf8' });
if (synth.status !== 0) throw new Error(`synth failed: ${synth.stderr}`);
console.log(`synth ${ROWS.toLocaleString('en')} executions: ${((performance.now() - t) / 1000).toFixed(0)} s`);

t = performance.now();
const files = await resolveModel({ cacheDir: defaultCacheDir(), name: '__offline__', buildOffline });
const store = await Store.open({ path: db });
const embedder = await OnnxEmbedder.load(files, { threads: 2 });
const distinct = await addDescriptionVectors(store, embedder, files.manifest.source ?? files.dir);
await embedder.close();
const conn = await store.connect();
// Feedback on ~30% of executions, given 0–72 h after them (never in the future); rejected spans
// over the last 48 h; three repositories with two policy changes each.
await conn.run(`INSERT INTO feedback (feedback_id, task_id, timestamp, feedback_type, rating, accepted, source, received_at)
  SELECT uuid(), task_id, least(now()::TIMESTAMP, timestamp + to_seconds(random() * 259200)), 'rating', 1 + (random() * 4.99)::INT % 5, random() < 0.7, 'bench', now()
  FROM executions WHERE random() < 0.3 ORDER BY timestamp`);
await conn.run(`INSERT INTO rejected_spans SELECT uuid(), now()::TIMESTAMP - to_seconds(random() * 172800), NULL, NULL, 'agent.run', 'bench',
  (['execution.routing_confidence: must be ≤ 1', 'execution.task_type: required', 'execution.actual_cost: must be ≥ 0'])[1 + (i % 3)], '{}', '{}' FROM range(2000) t(i)`);
for (const repo of ['mahavishnu', 'api-gateway', 'billing-service'])
  for (const coverage of [70, 80]) await setPolicy(conn, { repo, coverage_threshold: coverage }, 'bench');
const feedbackRows = Number((await conn.runAndReadAll('SELECT count(*) FROM feedback')).getRows()[0]![0]);
await conn.run('CHECKPOINT');
conn.closeSync();
await store.close();
console.log(`vectors for ${distinct} distinct descriptions, ${feedbackRows.toLocaleString('en')} feedback rows, 2,000 rejected spans: ${((performance.now() - t) / 1000).toFixed(0)} s; file ${(statSync(db).size / 1e6).toFixed(0)} MB`);

t = performance.now();
const serve = await spawnServe(['--db', db, '--snapshot-interval', '0'], { ORB_EMBED: 'true' });
const base = serve.httpUrl;
for (;;) {
  const r = await fetch(`${base}/v1/embeddings`).catch(() => null);
  if (r?.status === 200) break;
  if (performance.now() - t > 600_000) throw new Error(`the vector index did not load in 10 min:\n${serve.output()}`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
console.log(`server up and vector index loaded: ${((performance.now() - t) / 1000).toFixed(0)} s`);
const facets = (await (await fetch(`${base}/v1/query/facets?days=90`)).json()) as { rows: { facet: string; value: string }[] };
const taskType = facets.rows.find((r) => r.facet === 'task_type')!.value;
const windows: Filters[] = [{ days: 30 }, { days: 90 }, { days: 30, task_type: taskType }];

// ---- the API alone, sequentially: every request each panel makes -------------------------------
const apiTimes = new Map<string, number[]>();
for (let i = 0; i < RUNS + 1; i++)
  for (const f of windows)
    for (const p of PANELS)
      for (const r of panelRequests(f)[p]) {
        const t0 = performance.now();
        const res = await fetch(`${base}${requestKey(r)}`);
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${requestKey(r)}: HTTP ${res.status}`);
        const label = `${r.path.replace('/v1/query/', '')}${r.params.by ? ` by ${r.params.by}` : ''} (${f.days} d${f.task_type ? ', one task type' : ''})`;
        if (i > 0) apiTimes.set(label, [...(apiTimes.get(label) ?? []), performance.now() - t0]);
      }

// ---- the page in Chromium -------------------------------------------------------------------------
const browser = await launchBrowser();
const fcp: number[] = [];
const allDrawn: number[] = [];
const panelTimes = new Map<string, number[]>();
const fetchTimes = new Map<string, number[]>();
const renderTimes = new Map<string, number[]>();
const queuedTimes = new Map<string, number[]>();
const routeTimes: number[] = [];
const errors: string[] = [];
for (let i = 0; i < LOADS + 1; i++) {
  const { page, errors: pageErrors } = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const f = windows[i % windows.length]!;
  await page.goto(`${base}/?days=${f.days}${f.task_type ? `&task_type=${f.task_type}` : ''}`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.ready === 'true', { timeout: 120_000 });
  const m = await page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
    timings: (window as unknown as { __orbTimings: Record<string, Timing> }).__orbTimings,
  }));
  await page.type('#route-text', texts[i % texts.length]!);
  await page.click('#route-form button');
  await page.waitForFunction(() => ['ready', 'error'].includes(document.getElementById('route')!.dataset.state!), { timeout: 120_000 });
  const route = await page.evaluate(() => (window as unknown as { __orbTimings: Record<string, Timing> }).__orbTimings.route!);
  errors.push(...pageErrors);
  await page.close();
  if (i === 0) continue; // the first load warms DuckDB's caches and the browser
  fcp.push(m.fcp);
  allDrawn.push(Math.max(...Object.values(m.timings).map((x) => x.done_at_ms)));
  for (const [id, x] of Object.entries(m.timings)) {
    panelTimes.set(id, [...(panelTimes.get(id) ?? []), x.fetch_ms + x.render_ms]);
    fetchTimes.set(id, [...(fetchTimes.get(id) ?? []), x.fetch_ms]);
    renderTimes.set(id, [...(renderTimes.get(id) ?? []), x.render_ms]);
    queuedTimes.set(id, [...(queuedTimes.get(id) ?? []), x.queued_ms]);
  }
  routeTimes.push(route.fetch_ms + route.render_ms);
}
await browser.close();
serve.child.kill('SIGTERM');
await serve.exited;
rmSync(dir, { recursive: true, force: true });

console.log(`\nload average at end: ${load()}`);
const both = (xs: number[]) => `${ms(pct(xs, 0.5))} / ${ms(pct(xs, 0.95))}`;
console.log(`\n| page (${LOADS} loads, windows 30 d / 90 d / 30 d + one task type) | p50 / p95 ms | of which answers arrived | of which drawing | waited for its turn before | target |\n|---|---|---|---|---|---|`);
console.log(`| first contentful paint | ${both(fcp)} | | | | ≤ 1000 |`);
console.log(`| every panel drawn (from navigation start) | ${both(allDrawn)} | | | | |`);
for (const p of PANELS) console.log(`| panel ${p}: request to drawn | ${both(panelTimes.get(p) ?? [])} | ${both(fetchTimes.get(p) ?? [])} | ${both(renderTimes.get(p) ?? [])} | ${both(queuedTimes.get(p) ?? [])} | ≤ 300 |`);
console.log(`| route a task (recommend + similar): request to drawn | ${both(routeTimes)} | | | | ≤ 300 |`);
console.log(`\n| API request alone (${RUNS} runs, sequential) | p50 ms | p95 ms |\n|---|---|---|`);
for (const [label, xs] of apiTimes) console.log(`| ${label} | ${pct(xs, 0.5).toFixed(1)} | ${pct(xs, 0.95).toFixed(1)} |`);
if (errors.length) console.log(`\nconsole errors: ${errors.join('; ')}`);
