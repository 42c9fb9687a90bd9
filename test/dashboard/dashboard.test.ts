/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The dashboard and the static report in a real headless Chromium (Debian's, through
// puppeteer-core), against a real server on a `synth` database with real vectors, feedback,
// policies and a rejected span. Screenshots of every panel go to a temporary folder (printed);
// ORB_UPDATE_SCREENSHOT=1 also refreshes docs/dashboard.png for the README.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'puppeteer-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { makeCerts } from '../helpers/certs.js';
import { httpPost } from '../helpers/raw.js';
import { runCli } from '../helpers/process.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const PANELS = ['tiers', 'cost', 'pools', 'patterns', 'feedback', 'policies', 'health'] as const;
const TOKEN = 'dashboard-test-token-0123456789';
const DAY = 86_400_000;
const TEXT = 'Refactor the authentication middleware to use JWT validation';
// Plot names each mark's group by its type; axes and grids are named otherwise.
const MARKS = ['line path', 'dot circle', 'bar rect', 'rect rect', 'area path', 'rule line'].map((s) => `g[aria-label="${s.split(' ')[0]}"] ${s.split(' ')[1]}`).join(', ');

const shots = process.env.ORB_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'orb-dashboard-shots-'));

// Parsed JSON of whatever shape the route answers.
async function api(base: string, path: string, token?: string): Promise<any> {
  const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  return res.json();
}

/** The rows of a table in a panel, as the raw values its cells carry. */
function tableRows(page: Page, selector: string): Promise<Record<string, unknown>[]> {
  return page.$eval(selector, (t) =>
    [...t.querySelectorAll('tbody tr')].map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.field!, JSON.parse(td.dataset.value!)]))),
  );
}

const pick = (rows: Record<string, unknown>[], keys: string[]) => rows.map((r) => Object.fromEntries(keys.map((k) => [k, r[k] ?? null])));

async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.ready === 'true', { timeout: 60_000 });
}

async function markCount(page: Page, panel: string): Promise<number> {
  return page.$$eval(`#${panel} ${MARKS}`, (els) => els.length);
}

describe('dashboard in a real browser', { timeout: 600_000 }, () => {
  let dir: string;
  let server: TestServer;
  let browser: TestBrowser;
  let fileCopy: string;
  let taskTypes: string[];

  before(async () => {
    dir = tempDir('orb-dashboard-');
    const db = join(dir, 'synth.duckdb');
    const synth = await runCli(['synth', '--rows', '1500', '--days', '30', '--seed', '5', '--db', db], {}, 300_000);
    assert.equal(synth.code, 0, synth.stderr);
    fileCopy = join(dir, 'copy.duckdb');
    copyFileSync(db, fileCopy);
    server = await startTestServer({ db, embed: true });
    await server.server.embedding();
    const base = server.httpUrl;
    // Feedback on 300 executions, given up to 10 days after them; two policy changes; a rejected span.
    const ids = (await api(base, `/v1/query/sql?query=${encodeURIComponent('SELECT task_id::VARCHAR AS id, timestamp FROM executions ORDER BY task_id LIMIT 300')}`)).rows as { id: string; timestamp: string }[];
    for (const [i, r] of ids.entries()) {
      const at = Math.min(Date.now(), new Date(r.timestamp).getTime() + (i % 10) * DAY);
      const res = await fetch(`${base}/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task_id: r.id, rating: 1 + (i % 5), accepted: i % 3 !== 0, timestamp: new Date(at).toISOString() }),
      });
      assert.equal(res.status, 201);
    }
    for (const coverage of [70, 85]) {
      const res = await fetch(`${base}/v1/policies/mahavishnu`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ coverage_threshold: coverage, reason: `test ${coverage}` }) });
      assert.ok(res.status === 200 || res.status === 201, `policy: HTTP ${res.status}`);
    }
    const bad = {
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'agent.run', startTimeUnixNano: `${(Date.now() - 1000) * 1e6}`, endTimeUnixNano: `${Date.now() * 1e6}`,
        attributes: [
          ...Object.entries({ task_type: 'refactor', task_description: 'Refactor the parser', repo: 'mahavishnu', model_tier: 'small', pool_type: 'kubernetes' }).map(([k, v]) => ({ key: `execution.${k}`, value: { stringValue: v } })),
          ...Object.entries({ routing_confidence: 1.5, cost_estimate: 0.01, actual_cost: 0.01 }).map(([k, v]) => ({ key: `execution.${k}`, value: { doubleValue: v } })),
        ] }] }] }],
    };
    assert.equal((await fetch(`${base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bad) })).status, 200);
    taskTypes = ((await api(base, '/v1/query/facets?days=30')).rows as { facet: string; value: string }[]).filter((r) => r.facet === 'task_type').map((r) => r.value);
    browser = await launchBrowser();
    process.stdout.write(`# panel screenshots: ${shots}\n`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws every panel with real marks, shows the API numbers, follows the filters, routes a task, logs no error', async () => {
    const { page, errors } = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const base = server.httpUrl;
    const res = await page.goto(`${base}/`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    assert.match(res!.headers()['content-security-policy'] ?? '', /default-src 'none'/);
    await waitReady(page);

    for (const p of PANELS) {
      assert.equal(await page.$eval(`#${p}`, (s) => (s as HTMLElement).dataset.state), 'ready', `${p} is drawn`);
      assert.ok((await markCount(page, p)) > 0, `${p} has marks`);
    }
    assert.equal(await page.$eval('#empty', (e) => (e as HTMLElement).hidden), true, 'no empty-state notice on a full database');

    // The numbers shown are the API's, for the same filters.
    const tierKeys = ['model_tier', 'total', 'success_rate', 'avg_cost', 'avg_quality', 'p95_duration'];
    const tiers = await api(base, '/v1/query/tiers?days=30');
    assert.deepEqual(await tableRows(page, '#tiers table[data-table="tiers"]'), pick(tiers.rows, tierKeys));
    const dailyKeys = ['date', 'model_tier', 'total', 'success_rate', 'success_low', 'success_high', 'avg_cost', 'avg_quality', 'p95_duration'];
    assert.deepEqual(await tableRows(page, '#tiers details table'), pick((await api(base, '/v1/query/tiers-daily?days=30')).rows, dailyKeys));
    const costKeys = ['date', 'tier', 'executions', 'avg_estimate', 'avg_actual', 'mean_error', 'mean_abs_error', 'abs_error_pct'];
    assert.deepEqual(await tableRows(page, '#cost details table'), pick((await api(base, '/v1/query/cost-error-daily?by=tier&days=30')).rows, costKeys));
    assert.deepEqual(await tableRows(page, '#pools table'), pick((await api(base, '/v1/query/pools-summary?days=30')).rows, ['pool_type', 'total_tasks', 'success_rate', 'avg_duration', 'avg_cost']));
    assert.deepEqual(await tableRows(page, '#patterns table'), pick((await api(base, '/v1/query/patterns?limit=15&min_usage=1')).rows, ['solution_summary', 'usage_count', 'success_rate', 'avg_quality', 'task_types']));
    const all = (await api(base, '/v1/query/feedback-daily?days=90')).rows;
    assert.equal(all.reduce((n: number, r: { feedback: number }) => n + r.feedback, 0), 300, 'all 300 pieces of feedback counted on the days they were given');
    const feedback = (await api(base, '/v1/query/feedback-daily?days=30')).rows;
    assert.deepEqual(await tableRows(page, '#feedback details table'), pick(feedback, ['date', 'feedback', 'ratings', 'avg_rating', 'judged', 'accepted', 'acceptance_rate']));
    const policies = await api(base, '/v1/policies');
    assert.deepEqual((await tableRows(page, '#policies table')).map((r) => [r.repo, r.coverage_threshold]), policies.map((p: { repo: string; coverage_threshold: number }) => [p.repo, p.coverage_threshold]));
    assert.equal((await tableRows(page, '#policies details table')).length, 2, 'two changes in the history');
    const health = await api(base, '/v1/dashboard/health');
    assert.deepEqual((await tableRows(page, '#health table')).map((r) => [r.reason, r.spans]), health.store.answer.rejected_by_reason.map((r: { reason: string; spans: number }) => [r.reason, r.spans]));
    assert.equal(health.store.answer.rejected_by_reason[0].reason, 'execution.routing_confidence');
    assert.equal(await page.$eval('#health [data-field="indexed"]', (e) => JSON.parse((e as HTMLElement).dataset.value!)), 1500, 'every vector indexed');
    for (const p of [...PANELS, 'page']) await (p === 'page' ? page.screenshot({ path: join(shots, 'page.png'), fullPage: true }) : (await page.$(`#${p}`))!.screenshot({ path: join(shots, `${p}.png`) }));

    // Cost by task type: the other series of the same API.
    await page.click('input[name="cost-by"][value="task_type"]');
    await page.waitForFunction(() => document.querySelector('#cost details summary')?.textContent?.includes('task type') && document.getElementById('cost')!.dataset.state === 'ready');
    assert.deepEqual(await tableRows(page, '#cost details table'), pick((await api(base, '/v1/query/cost-error-daily?by=task_type&days=30')).rows, costKeys.map((k) => (k === 'tier' ? 'task_type' : k))));

    // Filters change the numbers, and they stay the API's.
    const tt = taskTypes[0]!;
    await page.select('#f-task_type', tt);
    await waitReady(page);
    assert.match(page.url(), new RegExp(`task_type=${tt}`));
    const filtered = await api(base, `/v1/query/tiers?days=30&task_type=${tt}`);
    const shown = await tableRows(page, '#tiers table[data-table="tiers"]');
    assert.deepEqual(shown, pick(filtered.rows, tierKeys));
    assert.notDeepEqual(shown, pick(tiers.rows, tierKeys), 'a task type shows other numbers');
    await page.click('input[name="days"][value="7"]');
    await waitReady(page);
    const week = await api(base, `/v1/query/tiers?days=7&task_type=${tt}`);
    assert.deepEqual(await tableRows(page, '#tiers table[data-table="tiers"]'), pick(week.rows, tierKeys));
    assert.ok(week.rows.reduce((n: number, r: { total: number }) => n + r.total, 0) < filtered.rows.reduce((n: number, r: { total: number }) => n + r.total, 0), '7 days hold fewer executions than 30');
    await page.select('#f-task_type', '');
    await page.click('input[name="days"][value="30"]');
    await waitReady(page);

    // Route a task: the tier the API recommends, its evidence, and links that filter the page.
    const asked: string[] = [];
    const onRequest = (q: { url(): string }) => void asked.push(q.url());
    page.on('request', onRequest);
    await page.type('#route-text', TEXT);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('route')!.dataset.state === 'ready', { timeout: 60_000 });
    page.off('request', onRequest);
    // An analyst's look-up exploits, whatever the server's --router-mode.
    const routed = asked.filter((u) => u.includes('/v1/query/recommend?'));
    assert.ok(routed.length > 0 && routed.every((u) => new URL(u).searchParams.get('mode') === 'exploit'), `recommend asked with mode=exploit: ${routed.join(' ')}`);
    const rec = await api(base, `/v1/query/recommend?text=${encodeURIComponent(TEXT)}`);
    assert.ok(rec.answer.recommended_tier, 'synth data gives a recommendation');
    assert.equal(await page.$eval('#route [data-field="recommended_tier"]', (e) => JSON.parse((e as HTMLElement).dataset.value!)), rec.answer.recommended_tier);
    assert.equal(await page.$eval('#route dd[data-field="basis"]', (e) => JSON.parse((e as HTMLElement).dataset.value!)), rec.answer.basis);
    assert.deepEqual(pick(await tableRows(page, '#route table[data-table="evidence"]'), ['model_tier', 'evidence', 'success_rate', 'success_interval']), pick(rec.rows, ['model_tier', 'evidence', 'success_rate', 'success_interval']));
    const similar = await api(base, `/v1/query/similar?text=${encodeURIComponent(TEXT)}&limit=10&threshold=0.5`);
    assert.deepEqual(pick(await tableRows(page, '#route table[data-table="similar"]'), ['similarity']), pick(similar.rows, ['similarity']));
    assert.ok((await markCount(page, 'route')) > 0);
    await (await page.$('#route'))!.screenshot({ path: join(shots, 'route.png') });
    await page.click(`#route [data-filter-task-type="${rec.answer.task_type}"]`);
    await waitReady(page);
    assert.equal(await page.$eval('#f-task_type', (s) => (s as HTMLSelectElement).value), rec.answer.task_type);

    // Keyboard: the skip link is first, and every control has a label.
    await page.goto(`${base}/`, { waitUntil: 'load' });
    await waitReady(page);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to the panels');
    const unlabelled = await page.$$eval('select, input, textarea, button', (els) => els.filter((e) => !(e as HTMLInputElement).labels?.length && !e.getAttribute('aria-label') && !e.textContent?.trim()).map((e) => e.outerHTML));
    assert.deepEqual(unlabelled, []);
    // Dark: the theme button switches, the page reads light text on a dark ground.
    await page.click('#theme');
    await page.click('#theme');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(13, 17, 23)');
    await page.screenshot({ path: join(shots, 'page-dark.png'), clip: { x: 0, y: 0, width: 1280, height: 900 } });
    await page.click('#theme');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'auto');
    if (process.env.ORB_UPDATE_SCREENSHOT === '1') {
      await page.setViewport({ width: 1280, height: 860 });
      await page.screenshot({ path: 'docs/dashboard.png', clip: { x: 0, y: 0, width: 1280, height: 860 } });
    }
    assert.deepEqual(errors, [], 'no console errors');
    await page.close();
  });

  it('writes a self-contained report that renders with the network blocked, from the server and from the file', async () => {
    for (const from of ['server', 'file'] as const) {
      const out = join(dir, `report-${from}.html`);
      const r = await runCli(['report', '--out', out, '--days', '30', ...(from === 'server' ? ['--server', server.httpUrl] : ['--db', fileCopy])], {}, 120_000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /written to/);
      const html = readFileSync(out, 'utf8');
      assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href="(?!data:)/, 'nothing loaded from elsewhere');
      const { page, errors } = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      const blocked: string[] = [];
      await page.setRequestInterception(true);
      page.on('request', (q) => {
        if (q.url().startsWith('file:') || q.url().startsWith('data:')) void q.continue();
        else {
          blocked.push(q.url());
          void q.abort();
        }
      });
      await page.setOfflineMode(true);
      await page.goto(`file://${out}`, { waitUntil: 'load' });
      await waitReady(page);
      for (const p of PANELS) {
        // The copy of the file was taken before feedback and policies were added.
        const expect = from === 'file' && (p === 'feedback' || p === 'policies') ? 'empty' : 'ready';
        assert.equal(await page.$eval(`#${p}`, (s) => (s as HTMLElement).dataset.state), expect, `${from} report: ${p}`);
        if (expect === 'ready') assert.ok((await markCount(page, p)) > 0, `${from} report: ${p} has marks`);
      }
      const tiers = await api(server.httpUrl, '/v1/query/tiers?days=30');
      assert.deepEqual(await tableRows(page, '#tiers table[data-table="tiers"]'), pick(tiers.rows, ['model_tier', 'total', 'success_rate', 'avg_cost', 'avg_quality', 'p95_duration']));
      assert.deepEqual(blocked, [], 'the report asked the network for nothing');
      assert.deepEqual(errors, []);
      await page.screenshot({ path: join(shots, `report-${from}.png`), fullPage: true });
      await page.close();
    }
  });

  it('asks for the token once, keeps it for the tab, enforces it, and shows the empty state', async () => {
    const empty = await startTestServer({ authToken: TOKEN });
    try {
      const base = empty.httpUrl;
      assert.equal((await fetch(`${base}/v1/query/tiers`)).status, 401);
      assert.equal((await fetch(`${base}/v1/dashboard/health`)).status, 401);
      assert.equal((await fetch(`${base}/healthz`)).status, 200, 'probes stay open');
      assert.equal((await fetch(`${base}/`)).status, 200, 'the page itself holds no data');
      const { page, errors } = await browser.newPage();
      await page.goto(`${base}/`, { waitUntil: 'load' });
      await page.waitForSelector('#auth:not([hidden])');
      assert.equal(await page.$eval('#tiers', (s) => (s as HTMLElement).dataset.state), 'auth');
      await page.type('#auth-token', 'not-the-token-at-all');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.getElementById('auth-error')!.textContent!.includes('refused'));
      await page.$eval('#auth-token', (i) => ((i as HTMLInputElement).value = ''));
      await page.type('#auth-token', TOKEN);
      await page.keyboard.press('Enter');
      await waitReady(page);
      assert.equal(await page.$eval('#empty', (e) => (e as HTMLElement).hidden), false, 'the empty state says how to send an execution');
      assert.match(await page.$eval('#empty', (e) => e.textContent!), /No executions yet: here is how to send one/);
      assert.equal(await page.$eval('#tiers', (s) => (s as HTMLElement).dataset.state), 'empty');
      // Kept for the tab: a reload asks no more.
      await page.reload({ waitUntil: 'load' });
      await waitReady(page);
      assert.equal(await page.$eval('#auth', (e) => (e as HTMLElement).hidden), true);
      assert.equal(await page.$eval('#health', (s) => (s as HTMLElement).dataset.state), 'ready');
      await page.screenshot({ path: join(shots, 'empty.png'), fullPage: true });
      // The only errors are the browser's notes on the refused requests.
      assert.ok(errors.every((e) => /status of 401/.test(e)), errors.join('\n'));
      await page.close();
    } finally {
      await empty.close();
    }
  });

  it('has the shipped page and no trace of a CDN in it', () => {
    const js = readFileSync('dist/web/app.js', 'utf8');
    assert.ok(existsSync('dist/web/index.html'));
    assert.doesNotMatch(js + readFileSync('dist/web/index.html', 'utf8'), /https?:\/\/(cdn|unpkg|cdnjs|jsdelivr)/i);
  });
});

describe('dashboard on the TLS listener', () => {
  it('serves the page over the same HTTPS port; under mTLS it needs a client certificate, probes do not', async () => {
    const certs = makeCerts(tempDir('orb-certs-'));
    const t = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsClientCa: certs.ca, authToken: TOKEN });
    try {
      const base = `https://127.0.0.1:${t.server.httpPort}`;
      const ca = certs.read(certs.ca);
      const client = { ca, cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) };
      const get = (path: string, tls: object, headers: Record<string, string> = {}) => httpPost(`${base}${path}`, Buffer.alloc(0), headers, 'GET', tls);
      for (const path of ['/', '/assets/app.js']) assert.equal((await get(path, { ca })).status, 401, `${path} without a client certificate`);
      const page = await get('/', client);
      assert.equal(page.status, 200);
      assert.match(page.body.toString(), /<title>orb-learn dashboard<\/title>/);
      assert.equal((await get('/assets/app.js', client)).status, 200);
      assert.equal((await get('/v1/dashboard/health', client)).status, 401, 'a certificate is not a token');
      assert.equal((await get('/v1/dashboard/health', client, { authorization: `Bearer ${TOKEN}` })).status, 200);
      assert.equal((await get('/healthz', { ca })).status, 200);
      assert.equal((await httpPost(`${base}/`, Buffer.alloc(0), {}, 'POST', client)).status, 405);
      assert.equal((await get('/nothing-here', client)).status, 404, "'/' is exact, not a prefix of every path");
    } finally {
      await t.close();
    }
  });
});
