// The page's assets as the server and the report use them: the built files are found, the served
// page links its assets, and a report's embedded answers survive any text (a summary holding
// "</script>" cannot end the element or run).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadAssets, reportPage, servedPage } from '../../src/dashboard/assets.js';
import { panelRequests, requestKey } from '../../src/dashboard/requests.js';

describe('dashboard assets', () => {
  const a = loadAssets();

  it('serves the page with its assets by URL and nothing inline', () => {
    const html = servedPage(a);
    assert.match(html, /<script src="\/assets\/app.js" defer><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="\/assets\/app.css">/);
    assert.doesNotMatch(html, /orb:|orb-report-data/);
  });

  it('inlines everything into a report, and embedded text stays data', () => {
    const hostile = { rows: [{ solution_summary: '</script><script>alert(1)</script> <!-- $& $1 $$' }] };
    const data = { generated_at: '2026-01-01T00:00:00.000Z', source: 'x', filters: { days: 30 }, responses: { '/v1/query/patterns': hostile } };
    const html = reportPage(a, data);
    assert.doesNotMatch(html, /src="\/assets|href="\/assets/);
    const m = /<script type="application\/json" id="orb-report-data">([\s\S]*?)<\/script>/.exec(html);
    assert.ok(m, 'the data element is whole');
    assert.deepEqual(JSON.parse(m[1]!), data);
    assert.equal(html.match(/<script/g)!.length, 2, 'one data element and one script, no more');
  });

  it('keys requests the same way whatever the order of their parameters', () => {
    assert.equal(requestKey({ path: '/v1/query/tiers', params: { repo: 'a b', days: '7' } }), '/v1/query/tiers?days=7&repo=a%20b');
    const r = panelRequests({ days: 7, task_type: 'refactor' });
    assert.equal(requestKey(r.tiers[1]!), '/v1/query/tiers-daily?days=7&task_type=refactor');
    assert.equal(requestKey(r.pools[0]!), '/v1/query/pools-summary?days=7', 'pools have no task type');
  });
});
