import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ExecutionRow } from '../../src/convert/record.js';
import { QueryLibrary } from '../../src/query/library.js';
import { ReadPool } from '../../src/query/pool.js';
import { bucketValue, sketchBucket } from '../../src/store/summaries.js';
import { row } from '../helpers/rows.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { writeTinyModel } from '../helpers/tiny-model.js';

const HOUR = 3_600_000;
/** An answer without its per-call id. */
const stable = (a: unknown) => (a && typeof a === 'object' ? { ...(a as Record<string, unknown>), recommendation_id: undefined } : a);

describe('query library on a hand-made fixture', () => {
  let t: TestServer;
  const now = new Date();
  const at = (hoursAgo: number) => new Date(Math.floor(now.getTime() / HOUR) * HOUR - hoursAgo * HOUR + 60_000);
  let n = 0;
  const make = (over: Partial<ExecutionRow>) => row(++n, { timestamp: at(2), pool_type: 'p1', duration_seconds: 10, ...over });

  before(async () => {
    t = await startTestServer({ embed: true, modelDir: writeTinyModel(join(tempDir(), 'tiny')) });
    const rows: ExecutionRow[] = [];
    for (let i = 0; i < 6; i++) {
      // docs: small is as good as large and ten times cheaper.
      rows.push(make({ repo: 'r1', task_type: 'docs', task_description: 'docs readme', model_tier: 'small', success: true, quality_score: 90, actual_cost: 0.01, cost_estimate: 0.02, solution_summary: 'rewrite readme' }));
      rows.push(make({ repo: 'r1', task_type: 'docs', task_description: 'docs readme', model_tier: 'large', success: true, quality_score: 90, actual_cost: 0.1, cost_estimate: 0.1, solution_summary: 'rewrite readme' }));
      // refactor: large clearly wins.
      rows.push(make({ repo: 'r1', task_type: 'refactor', task_description: 'refactor auth middleware', model_tier: 'small', success: i < 2, quality_score: 50, actual_cost: 0.01, cost_estimate: 0.01 }));
      rows.push(make({ repo: 'r1', task_type: 'refactor', task_description: 'refactor auth middleware', model_tier: 'large', success: true, quality_score: 95, actual_cost: 0.2, cost_estimate: 0.1, pool_type: 'p2', timestamp: at(30) }));
    }
    // Thin: two executions in r2, and an old one outside every window.
    rows.push(make({ repo: 'r2', task_type: 'migration', task_description: 'migration database', model_tier: 'medium' }));
    rows.push(make({ repo: 'r2', task_type: 'migration', task_description: 'migration database', model_tier: 'medium' }));
    rows.push(make({ repo: 'r1', task_type: 'docs', task_description: 'docs readme', model_tier: 'small', timestamp: new Date(now.getTime() - 400 * 24 * HOUR) }));
    await t.server.store.writer.commit({ executions: rows, rejected: [] });
    const e = await t.server.embedding();
    e!.indexer.enqueue(rows);
    await e!.indexer.idle();
  });
  after(() => t.close());

  const q = (name: Parameters<TestServer['server']['queries']['run']>[0], params: Record<string, unknown>) => t.server.queries.run(name, params, { now });

  it('tiers: counts, rates, averages and p95 per tier, with filters', async () => {
    const r = await q('tiers', { task_type: 'docs', repo: 'r1' });
    assert.deepEqual(r.rows.map((x) => x.model_tier).sort(), ['large', 'small']);
    const small = r.rows.find((x) => x.model_tier === 'small')!;
    assert.equal(small.total, 6, 'the 400-day-old one is outside the 30-day window');
    assert.equal(small.successful, 6);
    assert.equal(small.success_rate, 1);
    assert.ok(Math.abs(Number(small.avg_cost) - 0.01) < 1e-12);
    assert.equal(small.avg_quality, 90);
    assert.equal(small.avg_duration, 10);
    assert.equal(small.p95_duration, bucketValue(sketchBucket(10)));
    assert.ok(Math.abs(Number(small.p95_duration) - 10) <= 0.1);
    const all = await q('tiers', { days: 1000 });
    assert.equal(all.rows.reduce((s, x) => s + Number(x.total), 0), 27);
    const refactorSmall = (await q('tiers', { task_type: 'refactor' })).rows.find((x) => x.model_tier === 'small')!;
    assert.ok(Math.abs(Number(refactorSmall.success_rate) - 2 / 6) < 1e-12);
  });

  it('patterns: usage, success rate and quality, with a minimum usage', async () => {
    const r = await q('patterns', { min_usage: 10 });
    assert.equal(r.rows.length, 1);
    assert.equal(r.rows[0]!.solution_summary, 'rewrite readme');
    assert.equal(r.rows[0]!.usage_count, 12);
    assert.equal(r.rows[0]!.success_rate, 1);
    assert.deepEqual(r.rows[0]!.task_types, ['docs']);
    assert.equal((await q('patterns', { min_usage: 13 })).rows.length, 0);
    assert.equal((await q('patterns', { repo: 'r2', min_usage: 1 })).rows.length, 0);
  });

  it('pools: hourly rows within the window', async () => {
    const r = await q('pools', { days: 1 });
    assert.deepEqual(new Set(r.rows.map((x) => x.pool_type)), new Set(['p1']), 'p2 ran 30 hours ago, outside one day');
    assert.equal(r.rows.reduce((s, x) => s + Number(x.total_tasks), 0), 20);
    assert.equal((await q('pools', { days: 2 })).rows.reduce((s, x) => s + Number(x.total_tasks), 0), 26);
  });

  it('cost-error: mean and absolute error of the estimates by tier', async () => {
    const r = await q('cost-error', { by: 'tier' });
    const small = r.rows.find((x) => x.tier === 'small')!;
    // docs small: actual 0.01 vs 0.02 (×6); refactor small: exact (×6); 12 executions.
    assert.equal(small.executions, 12);
    assert.ok(Math.abs(Number(small.mean_abs_error) - 0.005) < 1e-12);
    assert.ok(Math.abs(Number(small.mean_error) + 0.005) < 1e-12);
    assert.ok(Math.abs(Number(small.abs_error_pct) - (100 * 0.06) / 0.18) < 1e-9);
  });

  // The tiny model averages word vectors; vectors are of "<task type>: <description>", the query of
  // its text alone. "docs readme" has cosine 0.77 to the docs rows, 0.32 to refactor and 0.06 to
  // migration: the threshold 0.5 below sits between them.
  it('similar: exact cosine with repo, window and threshold filters', async () => {
    const r = await q('similar', { text: 'docs readme', limit: 5, threshold: 0.5 });
    assert.equal(r.rows.length, 5);
    for (const x of r.rows) assert.equal(x.task_type, 'docs');
    const sims = r.rows.map((x) => Number(x.similarity));
    assert.deepEqual(sims, [...sims].sort((a, b) => b - a), 'best first');
    assert.equal((await q('similar', { text: 'docs readme', repo: 'r2', threshold: 0.5 })).rows.length, 0);
    const all = await q('similar', { text: 'docs readme', limit: 100, threshold: 0.5 });
    assert.equal(all.rows.length, 12, 'the 400-day-old one is outside the 90-day window');
    assert.equal((await q('similar', { text: 'docs readme', limit: 100, threshold: 0.5, days: 500 })).rows.length, 13);
    const everything = await q('similar', { text: 'docs readme', limit: 100, threshold: -1 });
    assert.equal(everything.rows.length, 26, 'no threshold: every execution in the window');
    const columns = ['duration_seconds', 'model_tier', 'pool_type', 'quality_score', 'repo', 'similarity', 'success', 'task_id', 'task_type', 'timestamp'];
    assert.deepEqual(Object.keys(everything.rows[0]!).sort(), [...columns, 'score'].sort(), 'hybrid by default: a blended score beside the cosine');
    const cosine = await q('similar', { text: 'docs readme', limit: 100, threshold: -1, lexical_weight: 0 });
    assert.deepEqual(Object.keys(cosine.rows[0]!).sort(), columns);
  });

  // Tokens: "database readme" → databas, readm. "database" is in 2 of the 27 descriptions,
  // "readme" in 13. BM25 is divided by what the query scores as a description of its own (both
  // words, 2 long); the docs and migration rows are 2 words long too, so the length factors
  // cancel and a row's share is its word's idf over the sum of both idfs.
  const idf = (df: number) => Math.log(1 + (27 - df + 0.5) / (df + 0.5));
  const lexicalShare = (taskType: unknown) => (taskType === 'migration' ? idf(2) : taskType === 'docs' ? idf(13) : 0) / (idf(2) + idf(13));

  it('similar: hybrid by default, score = 0.5·cosine + 0.5·BM25/BM25(text as a description); similarity stays the cosine', async () => {
    const cosine = await q('similar', { text: 'database readme', limit: 100, threshold: -1, lexical_weight: 0 });
    const hybrid = await q('similar', { text: 'database readme', limit: 100, threshold: -1 });
    assert.equal(hybrid.params.lexical_weight, 0.5, 'the default weight is echoed');
    assert.match(hybrid.notes[0]!, /^ranked by score = 0\.5·cosine \+ 0\.5·BM25\/BM25\(text as a description\) \(BM25 over task descriptions\); similarity is the cosine/);
    assert.match(cosine.notes[0]!, /^ranked by cosine, exact \(3 distinct\) over 27 int8 vectors/);
    assert.equal(hybrid.rows.length, 26);
    const cosineOf = new Map(cosine.rows.map((r) => [r.task_id, r.similarity]));
    for (const r of hybrid.rows) {
      assert.equal(r.similarity, cosineOf.get(r.task_id), 'the same cosine whatever the ranking');
      const want = 0.5 * Number(r.similarity) + 0.5 * lexicalShare(r.task_type);
      assert.ok(Math.abs(Number(r.score) - want) < 3e-4, `${r.task_type}: score ${r.score}, by hand ${want}`);
    }
    const scores = hybrid.rows.map((r) => Number(r.score));
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'best score first');
    // Weight 1 is BM25 alone (the cosine breaks ties): the rare word wins, then the common one.
    const lexical = await q('similar', { text: 'database readme', limit: 100, threshold: -1, lexical_weight: 1 });
    assert.deepEqual(lexical.rows.map((r) => r.task_type), [...Array(2).fill('migration'), ...Array(12).fill('docs'), ...Array(12).fill('refactor')]);
  });

  it('similar: an empty answer says why, with the best similarity found', async () => {
    const none = await q('similar', { text: 'database readme', threshold: 0.9 });
    assert.deepEqual(none.rows, []);
    // database readme: cosine 0.06 to migration database, the best in the 90-day window.
    assert.equal(none.answer!.matched, 0);
    assert.equal(none.answer!.threshold, 0.9);
    const best = (await q('similar', { text: 'database readme', threshold: -1, limit: 100, lexical_weight: 0 })).rows.reduce((a, b) => (Number(b.similarity) > Number(a.similarity) ? b : a));
    assert.equal(none.answer!.best_similarity, best.similarity);
    assert.match(none.notes[1]!, new RegExp(`^no execution reaches similarity 0\\.9; the most similar found has ${String(best.similarity).replace('.', '\\.')} \\(task [0-9a-f-]{36}\\): lower --threshold to see it$`));
    const elsewhere = await q('similar', { text: 'database readme', repo: 'nowhere' });
    assert.deepEqual([elsewhere.answer!.best_similarity, elsewhere.notes[1]], [null, 'no execution with a vector matches the filters (repo nowhere, last 90 days)']);
    const found = await q('similar', { text: 'docs readme' });
    assert.equal(found.answer, undefined, 'no such answer when rows are found');
    assert.equal(found.params.threshold, 0.44, 'the default threshold, chosen on the dev set');
  });

  it('similar: hybrid keeps the threshold on the cosine and the filters exact', async () => {
    const cosine = await q('similar', { text: 'database readme', limit: 100, threshold: -1, lexical_weight: 0 });
    const sims = [...new Set(cosine.rows.map((r) => Number(r.similarity)))].sort((a, b) => a - b);
    const cut = sims.findIndex((x, i) => i > sims.length / 2 && x - sims[i - 1]! > 2e-4);
    const threshold = (sims[cut]! + sims[cut - 1]!) / 2;
    for (const w of [0.1, 0.5, 1]) {
      const r = await q('similar', { text: 'database readme', limit: 100, threshold, lexical_weight: w });
      assert.equal(r.rows.length, cosine.rows.filter((x) => Number(x.similarity) >= threshold).length, `w ${w}: every row above the threshold, no other`);
      for (const x of r.rows) assert.ok(Number(x.similarity) >= threshold);
      assert.deepEqual((await q('similar', { text: 'database readme', repo: 'r2', threshold: -1, lexical_weight: w })).rows.map((x) => x.repo), ['r2', 'r2']);
      const r1 = await q('similar', { text: 'database readme', repo: 'r1', limit: 5, threshold: -1, lexical_weight: w });
      assert.deepEqual(r1.rows.map((x) => x.repo), Array(5).fill('r1'));
      assert.equal((await q('similar', { text: 'database readme', limit: 100, threshold: -1, days: 500, lexical_weight: w })).rows.length, 27);
    }
  });

  it('recommend: hybrid by default, cosine on request, same evidence here', async () => {
    const hybrid = await q('recommend', { text: 'docs readme', quality_target: 85, min_similarity: 0.5 });
    const cosine = await q('recommend', { text: 'docs readme', quality_target: 85, min_similarity: 0.5, lexical_weight: 0 });
    assert.match(hybrid.notes[0]!, /^similar executions ranked by score = 0\.5·cosine/);
    assert.match(cosine.notes[0]!, /^similar executions ranked by cosine/);
    assert.deepEqual(stable(hybrid.answer), stable(cosine.answer));
    assert.deepEqual(hybrid.rows, cosine.rows);
  });

  it('embeds a repeated query text once per model, and again under another model', async () => {
    const e = (await t.server.embedding())!;
    const pool = await ReadPool.open(() => t.server.store.connect(), 1, 10_000);
    const calls: string[] = [];
    let modelId = e.client.modelId;
    const embedder = {
      get modelId() {
        return modelId;
      },
      embed: (texts: string[]) => {
        calls.push(...texts);
        return e.client.embed(texts);
      },
    };
    try {
      const lib = new QueryLibrary(pool, () => ({ index: e.index, embedder }), null);
      const first = await lib.run('similar', { text: 'docs readme', threshold: -1 }, { now });
      const again = await lib.run('recommend', { text: 'docs readme' }, { now });
      const second = await lib.run('similar', { text: 'docs readme', threshold: -1 }, { now });
      assert.deepEqual(calls, ['docs readme'], 'one model call for three queries');
      assert.deepEqual(second.rows, first.rows);
      assert.equal(again.query, 'recommend');
      modelId = 'another-model';
      await lib.run('similar', { text: 'docs readme', threshold: -1 }, { now }).catch(() => undefined);
      assert.deepEqual(calls, ['docs readme', 'docs readme'], 'a cached vector is never used for another model');
    } finally {
      pool.close();
    }
  });

  it('the default weight comes from the library option; the weight is validated', async () => {
    const e = (await t.server.embedding())!;
    const pool = await ReadPool.open(() => t.server.store.connect(), 1, 10_000);
    try {
      const lib = new QueryLibrary(pool, () => ({ index: e.index, embedder: e.client }), null, undefined, { lexicalWeight: 0 });
      const r = await lib.run('similar', { text: 'docs readme', threshold: -1 }, { now });
      assert.equal(r.params.lexical_weight, 0);
      assert.match(r.notes[0]!, /^ranked by cosine/);
      assert.equal(r.rows[0]!.score, undefined);
      const asked = await lib.run('similar', { text: 'docs readme', threshold: -1, lexical_weight: 0.5 }, { now });
      assert.match(asked.notes[0]!, /^ranked by score = 0\.5·cosine/);
      assert.throws(() => new QueryLibrary(pool, () => null, null, undefined, { lexicalWeight: 1.5 }), RangeError);
    } finally {
      pool.close();
    }
    await assert.rejects(q('similar', { text: 'x', lexical_weight: 1.5 }), /similar: lexical_weight: /);
    await assert.rejects(q('recommend', { text: 'x', lexical_weight: -0.1 }), /recommend: lexical_weight: /);
  });

  // The tiny model's cosines are low, so min_similarity sits below them.
  it('recommend: the cheaper tier when it is as good; the better tier when it is not; in fields', async () => {
    // Quality 90 on six runs, shrunk toward the type's and everything's (refactor on small scores 50):
    // the posterior mean is about 87, so a target of 80 is met with confidence, 85 is not.
    const docs = await q('recommend', { text: 'docs readme', quality_target: 80, min_similarity: 0.5 });
    const strict = await q('recommend', { text: 'docs readme', quality_target: 85, min_similarity: 0.5 });
    assert.equal(strict.answer!.recommended_tier, 'large');
    assert.ok(Number(strict.rows.find((x) => x.model_tier === 'small')!.p_meets_targets) < 0.7);
    assert.equal(docs.answer!.recommended_tier, 'small');
    assert.equal(docs.answer!.basis, 'similar_executions');
    assert.equal(docs.answer!.targets_met, true);
    assert.equal(docs.answer!.explored, false);
    assert.equal(docs.answer!.propensity, 1);
    assert.equal(docs.answer!.strategy, 'bayes');
    assert.match(String(docs.answer!.recommendation_id), /^[0-9a-f-]{36}$/);
    assert.ok(Number(docs.answer!.probability) >= 0.7);
    const best = (docs.answer!.evidence as Record<string, number>).best_similarity!;
    assert.ok(best >= 0.5 && best <= 1, `the closest execution counted: ${best}`);
    const like = await q('similar', { text: 'docs readme', threshold: 0.5, limit: 100 });
    assert.equal(best, Math.max(...like.rows.map((r) => Number(r.similarity))), 'the best cosine similar finds for the same text');
    const small = docs.rows.find((x) => x.model_tier === 'small')!;
    const [lo, hi] = small.success_interval as [number, number];
    assert.ok(lo < Number(small.success_rate) && Number(small.success_rate) < hi && hi <= 1, 'a credible interval around the posterior mean');
    assert.equal(small.similar_executions, 7, 'six recent and the 400-day-old one');
    assert.ok(Number(small.similar_weight) < 6.01 && Number(small.similar_weight) > 5.5, `recency: the old one weighs almost nothing (${small.similar_weight})`);
    const refactor = await q('recommend', { text: 'refactor auth middleware', quality_target: 85, min_similarity: 0.29 });
    assert.equal(refactor.answer!.recommended_tier, 'large');
    const ev = refactor.rows.find((x) => x.model_tier === 'small')!;
    assert.ok(Number(ev.success_rate) < 0.6, `small's posterior mean ${ev.success_rate} (2 of 6 succeeded)`);
    assert.ok(Number(ev.p_meets_targets) < 0.05);
  });

  it('recommend: always answers, falling back through task type, repo and global history, and says which', async () => {
    const none = { min_similarity: 0.99 };
    const byType = await q('recommend', { text: 'something else entirely', task_type: 'docs', ...none });
    assert.equal(byType.answer!.basis, 'task_type_history');
    assert.equal(byType.answer!.task_type, 'docs');
    assert.equal(byType.answer!.similar_executions, 0);
    assert.ok(byType.answer!.recommended_tier);
    assert.equal((byType.answer!.evidence as Record<string, number>).task_type_executions, 12);
    assert.equal((byType.answer!.evidence as Record<string, number | null>).best_similarity, null, 'no similar execution counted');
    const byRepo = await q('recommend', { text: 'something else entirely', task_type: 'unheard-of', repo: 'r1', ...none });
    assert.equal(byRepo.answer!.basis, 'repo_history');
    assert.match(byRepo.notes.join(' '), /task type unheard-of has no history/);
    assert.ok(byRepo.answer!.recommended_tier);
    const global = await q('recommend', { text: 'migration database', repo: 'r2', min_similarity: 0 });
    assert.equal(global.answer!.basis, 'global_history', 'two similar executions, two in the type and the repo: fewer than min_evidence 5');
    assert.ok(global.answer!.recommended_tier, 'answered even on thin evidence');
    assert.equal(typeof global.answer!.targets_met, 'boolean');
    const legacy = await q('recommend', { text: 'migration database', repo: 'r2', min_similarity: 0, strategy: 'legacy' });
    assert.equal(legacy.answer!.recommended_tier, null, 'the previous recommend refused');
    assert.equal(legacy.answer!.basis, 'insufficient_evidence');
  });

  it('sql: runs one SELECT with a row limit, rejects writes', async () => {
    const r = await q('sql', { query: 'SELECT task_type, count(*) AS n FROM executions GROUP BY ALL ORDER BY ALL', max_rows: 2 });
    assert.equal(r.rows.length, 2);
    assert.deepEqual(r.notes, ['truncated at 2 rows']);
    for (const bad of ['DELETE FROM executions', 'INSERT INTO feedback VALUES (1)', 'DROP TABLE executions', 'SELECT 1; SELECT 2', "COPY executions TO '/tmp/x.csv'", 'ATTACH \'/tmp/other.duckdb\'']) {
      await assert.rejects(q('sql', { query: bad }), /sql: /, bad);
    }
    assert.equal((await t.rows('SELECT count(*)::INT n FROM executions'))[0]!.n, 27);
  });

  it('explain prints the plan; bad parameters name the field', async () => {
    const r = await t.server.queries.run('tiers', {}, { explain: true });
    assert.match(r.explain ?? '', /tier_performance_mv/i);
    await assert.rejects(q('tiers', { days: 0 }), /tiers: days: /);
    await assert.rejects(q('similar', {}), /similar: text: /);
    await assert.rejects(q('patterns', { bogus: 1 }), /patterns: bogus/);
  });

  it('the HTTP API gives what the library gives', async () => {
    for (const [name, qs] of [['tiers', 'task_type=docs&repo=r1'], ['patterns', 'min_usage=10'], ['similar', 'text=docs%20readme&limit=3'], ['similar', 'text=database%20readme&threshold=-1&lexical_weight=0.5'], ['recommend', 'text=docs%20readme&quality_target=85&min_similarity=0.5']] as const) {
      const res = await fetch(`${t.httpUrl}/v1/query/${name}?${qs}`);
      assert.equal(res.status, 200, name);
      const body = (await res.json()) as { rows: unknown[]; answer?: unknown };
      const lib = await t.server.queries.run(name, Object.fromEntries(new URLSearchParams(qs)));
      assert.deepEqual(body.rows, JSON.parse(JSON.stringify(lib.rows)), name);
      assert.deepEqual(stable(body.answer), lib.answer === undefined ? undefined : stable(JSON.parse(JSON.stringify(lib.answer))));
    }
    const weight = await fetch(`${t.httpUrl}/v1/query/similar?text=x&lexical_weight=2`);
    assert.equal(weight.status, 400);
    assert.match(((await weight.json()) as { message: string }).message, /similar: lexical_weight/);
    const bad = await fetch(`${t.httpUrl}/v1/query/tiers?days=-1`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /tiers: days/);
    assert.equal((await fetch(`${t.httpUrl}/v1/query/nope`)).status, 404);
    const write = await fetch(`${t.httpUrl}/v1/query/sql?query=${encodeURIComponent('DELETE FROM executions')}`);
    assert.equal(write.status, 400);
  });
});

describe('orb-learn query on the command line', () => {
  it('answers from the file when no server runs, and from the server when one does, the same way', async () => {
    const { runCli, spawnServe } = await import('../helpers/process.js');
    const dir = tempDir();
    const db = join(dir, 'q.duckdb');
    const modelDir = writeTinyModel(join(dir, 'tiny'));
    // Fill the file through a server (OTLP), then stop it.
    const srv = await spawnServe(['--db', db], { ORB_EMBED: 'true', ORB_MODEL_DIR: modelDir });
    const { exportOk, makeExporter, makeSpans, minimalExecution } = await import('../helpers/spans.js');
    const exporter = makeExporter('grpc', { grpcUrl: `http://${srv.grpcAddress}`, httpUrl: srv.httpUrl });
    await exportOk(exporter, makeSpans(Array.from({ length: 8 }, (_, i) => ({ attributes: minimalExecution({ 'execution.model_tier': i % 2 ? 'small' : 'large', 'execution.task_description': 'docs readme' }) }))));
    await exporter.shutdown();
    const httpAddr = srv.httpUrl.replace('http://', '');
    const live = await runCli(['query', 'tiers', '--json', '--server', srv.httpUrl]);
    assert.equal(live.code, 0, live.stderr);
    const liveTable = await runCli(['query', 'tiers', '--server', srv.httpUrl]);
    assert.match(liveTable.stderr, new RegExp(`answered by the server at http://${httpAddr}`));
    // An explicit --db means that file; the server holds it, and the error says what to do.
    const locked = await runCli(['query', 'tiers', '--db', db]);
    assert.equal(locked.code, 1);
    assert.match(locked.stderr, /held by another process .*Ask that server instead \(--server URL, without --db\), or query its snapshot/);
    // Nothing answers at the default address (--http points elsewhere) and the default file is held:
    // the message names the server address, not --db, which was not given.
    const elsewhere = await runCli(['query', 'tiers'], { ORB_DB: db, ORB_HTTP: '127.0.0.1:1' });
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stderr, /no server answered at the default address and the database .* is held by another process.*give --server URL of that server/);
    srv.child.kill('SIGTERM');
    await srv.exited;
    const offline = await runCli(['query', 'tiers', '--json', '--db', db]);
    assert.equal(offline.code, 0, offline.stderr);
    const a = JSON.parse(live.stdout);
    const b = JSON.parse(offline.stdout);
    assert.deepEqual(a.rows, b.rows);
    assert.equal(a.rows.reduce((s: number, r: { total: number }) => s + r.total, 0), 8);
    const table = await runCli(['query', 'tiers', '--db', db]);
    assert.match(table.stdout, /^model_tier\s+total\s+successful/m);
    assert.match(table.stderr, new RegExp(`answered by ${db}`));
    const sim = await runCli(['query', 'similar', 'docs readme', '--threshold', '-1', '--json', '--db', db, '--model-dir', modelDir]);
    assert.equal(sim.code, 0, sim.stderr);
    const simRows = JSON.parse(sim.stdout) as { rows: { score?: number }[]; notes: string[] };
    assert.equal(simRows.rows.length, 8);
    // Hybrid from the file too: the index load fed the lexical index.
    assert.match(simRows.notes[0]!, /^ranked by score = 0\.5·cosine/);
    assert.ok(simRows.rows.every((r) => r.score !== undefined));
    const cosine = await runCli(['query', 'similar', 'docs readme', '--threshold', '-1', '--lexical-weight', '0', '--json', '--db', db, '--model-dir', modelDir]);
    assert.equal(cosine.code, 0, cosine.stderr);
    assert.match(JSON.parse(cosine.stdout).notes[0], /^ranked by cosine/);
    const bad = await runCli(['query', 'sql', 'DELETE FROM executions', '--db', db]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /only read-only SELECT/);
  });
});
