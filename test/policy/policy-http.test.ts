import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ExecutionRow } from '../../src/convert/record.js';
import { listPolicies, policyHistory, setPolicy } from '../../src/policy/policies.js';
import { Store } from '../../src/store/db.js';
import { runCli, spawnServe } from '../helpers/process.js';
import { row } from '../helpers/rows.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const DAY = 86_400_000;
const TOKEN = 'policy-api-token-0123456789';

let seq = 0;
/** n executions of repo, `successes` of them successful: 3 days before now (recent) or 20 (previous). */
function executions(repo: string, window: 'recent' | 'previous', n: number, successes: number, quality: number, now: Date): ExecutionRow[] {
  const at = new Date(now.getTime() - (window === 'recent' ? 3 : 20) * DAY);
  return Array.from({ length: n }, (_, i) => row(500_000 + ++seq, { repo, timestamp: new Date(at.getTime() + i * 1000), success: i < successes, quality_score: quality }));
}

interface Reply {
  status: number;
  headers: Headers;
  // Parsed JSON of whatever shape the route answers.
  body: any;
}

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** What the file holds, as the CLI's --json prints it. */
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

describe('quality policies over HTTP', () => {
  let t: TestServer;
  let conn: DuckDBConnection;
  let api: (method: string, path: string, body?: unknown) => Promise<Reply>;
  before(async () => {
    // Summaries merge only when asked: adjust must see executions because its route flushes them.
    t = await startTestServer({ summaryIntervalMs: 3_600_000 });
    conn = await t.server.store.connect();
    api = (method, path, body) => call(t.httpUrl, method, path, body);
  });
  after(async () => {
    conn.closeSync();
    await t.close();
  });

  it('PUT creates (201) then changes (200); list and history answer what the database holds', async () => {
    const created = await api('PUT', '/v1/policies/payments', { project_maturity: 'mature', reason: 'first policy' });
    assert.equal(created.status, 201);
    assert.equal(created.body.created, true);
    assert.deepEqual(
      [created.body.policy.repo, created.body.policy.coverage_threshold, created.body.policy.strictness_level, created.body.policy.adjustment_reason],
      ['payments', 80, 'strict', 'manual: first policy'],
    );

    const changed = await api('PUT', '/v1/policies/payments', { coverage_threshold: 85 });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.created, false);
    assert.equal(changed.body.policy.policy_id, created.body.policy.policy_id);
    assert.deepEqual(changed.body.change.before, { project_maturity: 'mature', coverage_threshold: 80, strictness_level: 'strict' });
    assert.deepEqual(changed.body.change.after, { project_maturity: 'mature', coverage_threshold: 85, strictness_level: 'strict' });

    const same = await api('PUT', '/v1/policies/payments', { coverage_threshold: '85' });
    assert.equal(same.status, 200);
    assert.equal(same.body.change, null, 'the same values again write nothing');

    // No body: `policy set --repo beta`, the maturity defaults.
    const beta = await call(t.httpUrl, 'PUT', '/v1/policies/beta');
    assert.equal(beta.status, 201);
    assert.deepEqual([beta.body.policy.project_maturity, beta.body.policy.coverage_threshold, beta.body.policy.strictness_level], ['growing', 70, 'standard']);

    const list = await api('GET', '/v1/policies');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body as unknown, asJson(await listPolicies(conn)));
    assert.deepEqual(list.body.map((p: { repo: string; coverage_threshold: number }) => [p.repo, p.coverage_threshold]), [['beta', 70], ['payments', 85]]);

    const history = await api('GET', '/v1/policies/history?repo=payments');
    assert.equal(history.status, 200);
    assert.deepEqual(history.body as unknown, asJson(await policyHistory(conn, { repo: 'payments' })));
    assert.deepEqual(history.body.map((c: { reason: string }) => c.reason), ['first policy', 'manual change']);
    assert.equal((await api('GET', '/v1/policies/history')).body.length, 3);
    assert.deepEqual((await api('GET', '/v1/policies/history?limit=1')).body.map((c: { repo: string }) => c.repo), ['beta']);
  });

  it("repository names with '/' work encoded or raw; a repository may be named like a route", async () => {
    const encoded = await api('PUT', `/v1/policies/${encodeURIComponent('org/service')}`, { project_maturity: 'prototype' });
    assert.equal(encoded.status, 201);
    assert.equal(encoded.body.policy.repo, 'org/service');
    const raw = await api('PUT', '/v1/policies/org/service', { coverage_threshold: 60 });
    assert.equal(raw.status, 200);
    assert.equal(raw.body.policy.policy_id, encoded.body.policy.policy_id);
    assert.equal(raw.body.policy.coverage_threshold, 60);
    const h = await api('GET', `/v1/policies/history?${new URLSearchParams({ repo: 'org/service' })}`);
    assert.deepEqual(h.body.map((c: { repo: string; after: { coverage_threshold: number } }) => [c.repo, c.after.coverage_threshold]), [['org/service', 50], ['org/service', 60]]);

    const named = await api('PUT', '/v1/policies/history', {});
    assert.equal(named.status, 201);
    assert.equal(named.body.policy.repo, 'history');
  });

  it('a bad body or parameter is 400 with a message naming the field, and writes nothing', async () => {
    const written = (await policyHistory(conn)).length;
    const cases: [string, string, unknown, RegExp][] = [
      ['PUT', '/v1/policies/payments', { coverage_threshold: 120 }, /^policy: coverage_threshold: .*100/],
      ['PUT', '/v1/policies/payments', { coverage_threshold: 'lots' }, /^policy: coverage_threshold: /],
      ['PUT', '/v1/policies/payments', { project_maturity: 'ancient' }, /^policy: project_maturity: .*prototype/],
      ['PUT', '/v1/policies/payments', { strictness_level: 'brutal' }, /^policy: strictness_level: .*very_strict/],
      ['PUT', '/v1/policies/payments', { colour: 'red' }, /^policy: colour: /],
      ['PUT', '/v1/policies/payments', { reason: 5 }, /^policy: reason: must be a string/],
      ['PUT', '/v1/policies/payments', { repo: 'other' }, /^policy: repo: "other" in the body does not match "payments"/],
      ['PUT', '/v1/policies/payments', 'not json', /^policy: malformed JSON body/],
      ['PUT', '/v1/policies/payments', '[1]', /^policy: the body must be a JSON object/],
      ['PUT', '/v1/policies/%20', {}, /^policy: repo: must not be empty/],
      ['PUT', '/v1/policies/bad%E0%A4%A', {}, /^policy: repo: malformed percent-encoding/],
      ['GET', '/v1/policies/history?limit=0', undefined, /^policy: limit: /],
      ['POST', '/v1/policies/adjust?apply=yes', undefined, /^policy: apply: /],
    ];
    for (const [method, path, body, message] of cases) {
      const r = await api(method, path, body);
      assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match(r.body.message, message);
    }
    assert.equal((await policyHistory(conn)).length, written);
    assert.equal((await listPolicies(conn)).find((p) => p.repo === 'payments')!.coverage_threshold, 85);
  });

  it('an unknown path under /v1/policies is 404; a wrong method is 405 with Allow', async () => {
    for (const [method, path] of [['GET', '/v1/policies/payments'], ['POST', '/v1/policies/payments'], ['GET', '/v1/policies/history/x']]) {
      const r = await api(method!, path!);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.match(r.body.message, /^no policy route /);
    }
    const del = await api('DELETE', '/v1/policies/payments');
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'GET, POST, PUT');
    assert.equal((await api('PUT', '/v1/policies', {})).status, 405);
  });

  it('adjust proposes; ?apply=true writes the step and the history; the history is kept', async () => {
    const now = new Date();
    await t.server.store.writer.commit({ executions: [...executions('svc', 'previous', 120, 108, 90, now), ...executions('svc', 'recent', 120, 60, 70, now)], rejected: [] });
    await setPolicy(conn, { repo: 'svc', project_maturity: 'mature' }, 'initial', { now: new Date(now.getTime() - 40 * DAY) });
    // Journalled, not merged: only the route's flush lets adjust see them.
    assert.equal((await t.rows(`SELECT count(*)::INT AS n FROM tier_performance_mv WHERE repo = 'svc'`))[0]!.n, 0);

    const dry = await api('POST', '/v1/policies/adjust');
    assert.equal(dry.status, 200);
    assert.equal(dry.body.applied, false);
    assert.deepEqual(dry.body.proposals.map((p: { repo: string; direction: string; to: unknown }) => [p.repo, p.direction, p.to]), [
      ['svc', 'tighten', { coverage_threshold: 85, strictness_level: 'very_strict' }],
    ]);
    assert.equal(dry.body.proposals[0].evidence.recent.executions, 120);
    assert.deepEqual(dry.body.changes, []);
    assert.equal((await policyHistory(conn, { repo: 'svc' })).length, 1, 'proposing writes nothing');
    assert.equal((await listPolicies(conn)).find((p) => p.repo === 'svc')!.coverage_threshold, 80);

    const applied = await api('POST', '/v1/policies/adjust?apply=true');
    assert.equal(applied.status, 200);
    assert.equal(applied.body.applied, true);
    assert.equal(applied.body.changes.length, 1);
    const svc = (await api('GET', '/v1/policies')).body.find((p: { repo: string }) => p.repo === 'svc');
    assert.deepEqual([svc.coverage_threshold, svc.strictness_level], [85, 'very_strict']);
    assert.match(svc.adjustment_reason, /^adjustment: success rate fell 90\.0% → 50\.0%/);

    const again = await api('POST', '/v1/policies/adjust?apply=true');
    assert.deepEqual(again.body.proposals, []);
    assert.equal(again.body.skipped.find((s: { repo: string }) => s.repo === 'svc').code, 'cooldown');
    const history = (await api('GET', '/v1/policies/history?repo=svc')).body as { source: string; after: { coverage_threshold: number } }[];
    assert.deepEqual(history.map((c) => [c.source, c.after.coverage_threshold]), [['manual', 80], ['adjustment', 85]]);
  });

  it('concurrent writes queue: every one is applied and recorded', async () => {
    const levels = [41, 42, 43, 44, 45, 46];
    const replies = await Promise.all(levels.map((c, i) => api('PUT', '/v1/policies/busy', { coverage_threshold: c, reason: `step ${i}` })));
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 201]);
    const h = await policyHistory(conn, { repo: 'busy' });
    assert.equal(h.length, levels.length);
    assert.deepEqual(h.map((c) => c.after.coverage_threshold).sort(), levels);
  });
});

describe('quality policies over HTTP with bearer auth', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ authToken: TOKEN });
  });
  after(() => t.close());

  it('answers 401 without the token on every policy route, and serves with it', async () => {
    for (const [method, path] of [['GET', '/v1/policies'], ['GET', '/v1/policies/history'], ['PUT', '/v1/policies/locked'], ['POST', '/v1/policies/adjust']]) {
      const r = await call(t.httpUrl, method!, path!, method === 'PUT' ? {} : undefined);
      assert.equal(r.status, 401, `${method} ${path}`);
      assert.match(r.body.message, /missing bearer token/);
    }
    assert.equal((await call(t.httpUrl, 'GET', '/v1/policies', undefined, { authorization: 'Bearer wrong' })).status, 401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.deepEqual((await call(t.httpUrl, 'GET', '/v1/policies', undefined, auth)).body, [], 'the refused PUT wrote nothing');
    assert.equal((await call(t.httpUrl, 'PUT', '/v1/policies/locked', {}, auth)).status, 201);
    assert.deepEqual((await call(t.httpUrl, 'GET', '/v1/policies', undefined, auth)).body.map((p: { repo: string }) => p.repo), ['locked']);
  });
});

describe('orb-learn policy --server', () => {
  it('runs set, list, history and adjust through a running server, with the same output as on the file', async () => {
    const dir = tempDir();
    const path = join(dir, 'served.duckdb');
    const now = new Date();
    const store = await Store.open({ path });
    const conn = await store.connect();
    await store.writer.commit({ executions: [...executions('svc', 'previous', 120, 108, 90, now), ...executions('svc', 'recent', 120, 60, 70, now)], rejected: [] });
    await store.writer.flushSummaries();
    await setPolicy(conn, { repo: 'svc', project_maturity: 'mature' }, 'initial', { now: new Date(now.getTime() - 40 * DAY) });
    conn.closeSync();
    await store.close();

    const srv = await spawnServe(['--db', path, '--auth-token', TOKEN]);
    const env = { ORB_AUTH_TOKEN: TOKEN };
    const viaServer = (...args: string[]) => runCli(['policy', ...args, '--server', srv.httpUrl], env);
    const read: string[][] = [['list'], ['list', '--json'], ['history'], ['history', '--json'], ['history', '--repo', 'org/svc', '--limit', '1', '--json']];
    const served = new Map<string, string>();
    try {
      const locked = await runCli(['policy', 'list', '--db', path]);
      assert.equal(locked.code, 1);
      assert.match(locked.stderr, /stop the server .* or use the running server's HTTP API: pass --server URL to go through it \(http:\/\/\S+ unless the server was given another --http, https:\/\/ with --tls-cert\)/);

      const noToken = await runCli(['policy', 'list', '--server', srv.httpUrl], { ORB_AUTH_TOKEN: '' });
      assert.equal(noToken.code, 1);
      assert.match(noToken.stderr, /missing bearer token .*give --auth-token TOKEN, --auth-token-file FILE or ORB_AUTH_TOKEN/);
      const flagToken = await runCli(['policy', 'list', '--json', '--server', srv.httpUrl, '--auth-token', TOKEN], { ORB_AUTH_TOKEN: '' });
      assert.equal(flagToken.code, 0, flagToken.stderr);
      assert.deepEqual((JSON.parse(flagToken.stdout) as { repo: string }[]).map((p) => p.repo), ['svc']);

      const dry = await viaServer('adjust');
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /svc: tighten coverage 80 → 85, strictness strict → very_strict/);
      assert.match(dry.stdout, /pass --apply/);
      const applied = await viaServer('adjust', '--apply', '--json');
      assert.equal(applied.code, 0, applied.stderr);
      const report = JSON.parse(applied.stdout) as { applied: boolean; changes: { repo: string; source: string }[] };
      assert.equal(report.applied, true);
      assert.deepEqual(report.changes.map((c) => [c.repo, c.source]), [['svc', 'adjustment']]);

      const set = await viaServer('set', '--repo', 'org/svc', '--maturity', 'critical', '--coverage', '60', '--reason', 'team decision');
      assert.equal(set.code, 0, set.stderr);
      assert.match(set.stdout, /^created the policy of org\/svc\n/);
      assert.match(set.stdout, /org\/svc\s+critical\s+60\s+very_strict\s+\S+Z\s+manual: team decision/);
      const bad = await viaServer('set', '--repo', 'svc', '--coverage', 'lots');
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^orb-learn: policy: coverage_threshold: /);

      for (const args of read) {
        const r = await viaServer(...args);
        assert.equal(r.code, 0, r.stderr);
        served.set(args.join(' '), r.stdout);
      }
      assert.match(served.get('history')!, /adjustment\s+mature\s+80 → 85\s+strict → very_strict/);
      const last = JSON.parse(served.get('history --repo org/svc --limit 1 --json')!) as { repo: string; reason: string }[];
      assert.deepEqual(last.map((c) => [c.repo, c.reason]), [['org/svc', 'team decision']]);

      const both = await runCli(['policy', 'list', '--server', srv.httpUrl, '--db', path], env);
      assert.equal(both.code, 1);
      assert.match(both.stderr, /give --db or --server, not both/);
    } finally {
      srv.child.kill('SIGTERM');
      await srv.exited;
    }

    // The server is gone: no answer, and the file now gives the same output the server gave.
    const gone = await viaServer('list');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /nothing listens at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
    for (const args of read) {
      const r = await runCli(['policy', ...args, '--db', path]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, served.get(args.join(' ')), args.join(' '));
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
