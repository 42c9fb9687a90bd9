import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ExecutionRow } from '../../src/convert/record.js';
import { InvalidInputError } from '../../src/errors.js';
import {
  adjustPolicies,
  DEFAULT_RULES,
  proposeAdjustments,
  twoProportionZ,
  type PolicyState,
  type RepoStats,
  type WindowEvidence,
} from '../../src/policy/adjust.js';
import { listPolicies, policyHistory, setPolicy } from '../../src/policy/policies.js';
import { Store } from '../../src/store/db.js';
import { runCli } from '../helpers/process.js';
import { row } from '../helpers/rows.js';
import { startTestServer, tempDir } from '../helpers/server.js';

const DAY = 86_400_000;
const NOW = new Date(Date.UTC(2026, 2, 15, 12));
const daysBefore = (d: number, now = NOW) => new Date(now.getTime() - d * DAY);

let seq = 0;
/**
 * n executions of repo, `successes` of them successful, each scored `quality`: in the recent
 * window (3 days before now) or the previous one (20 days before now).
 */
function executions(repo: string, window: 'recent' | 'previous', n: number, successes: number, quality: number | null, now = NOW): ExecutionRow[] {
  const at = daysBefore(window === 'recent' ? 3 : 20, now);
  return Array.from({ length: n }, (_, i) => row(100_000 + ++seq, { repo, timestamp: new Date(at.getTime() + i * 1000), success: i < successes, quality_score: quality }));
}

async function openStore(path: string) {
  const store = await Store.open({ path });
  const conn = await store.connect();
  return {
    store,
    conn,
    async rows(sql: string) {
      return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    },
    async close() {
      conn.closeSync();
      await store.close();
    },
  };
}

describe('quality policies: set, list, history', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof openStore>>;
  before(async () => {
    dir = tempDir();
    db = await openStore(join(dir, 'p.duckdb'));
  });
  after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates with the maturity defaults, changes given fields only, and records both changes', async () => {
    const a = await setPolicy(db.conn, { repo: 'alpha', project_maturity: 'mature' }, 'first policy', { now: daysBefore(2) });
    assert.equal(a.created, true);
    assert.deepEqual(
      [a.policy.project_maturity, a.policy.coverage_threshold, a.policy.strictness_level, a.policy.adjustment_reason],
      ['mature', 80, 'strict', 'manual: first policy'],
    );
    const b = await setPolicy(db.conn, { repo: 'alpha', coverage_threshold: '85' }, undefined, { now: daysBefore(1) });
    assert.equal(b.created, false);
    assert.equal(b.policy.policy_id, a.policy.policy_id);
    assert.deepEqual([b.policy.coverage_threshold, b.policy.strictness_level, b.policy.project_maturity], [85, 'strict', 'mature']);
    await setPolicy(db.conn, { repo: 'beta' });

    const list = await listPolicies(db.conn);
    assert.deepEqual(list.map((p) => [p.repo, p.project_maturity, p.coverage_threshold, p.strictness_level]), [
      ['alpha', 'mature', 85, 'strict'],
      ['beta', 'growing', 70, 'standard'],
    ]);
    assert.equal(list[0]!.last_adjusted?.getTime(), daysBefore(1).getTime());

    const h = await policyHistory(db.conn, { repo: 'alpha' });
    assert.equal(h.length, 2);
    assert.deepEqual(h.map((c) => [c.source, c.reason]), [['manual', 'first policy'], ['manual', 'manual change']]);
    assert.equal(h[0]!.before, null);
    assert.deepEqual(h[1]!.before, { project_maturity: 'mature', coverage_threshold: 80, strictness_level: 'strict' });
    assert.deepEqual(h[1]!.after, { project_maturity: 'mature', coverage_threshold: 85, strictness_level: 'strict' });
    assert.equal(h[1]!.changed_at.getTime(), daysBefore(1).getTime());
    assert.equal((await policyHistory(db.conn)).length, 3);
    assert.deepEqual((await policyHistory(db.conn, { limit: 1 })).map((c) => c.repo), ['beta']);
  });

  it('an input that changes nothing writes nothing', async () => {
    const r = await setPolicy(db.conn, { repo: 'alpha', coverage_threshold: 85 });
    assert.equal(r.change, null);
    assert.equal((await policyHistory(db.conn, { repo: 'alpha' })).length, 2);
  });

  it('validation errors name the field, and nothing is written', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ repo: 'alpha', coverage_threshold: 120 }, /^policy: coverage_threshold: /],
      [{ repo: 'alpha', coverage_threshold: 'lots' }, /^policy: coverage_threshold: /],
      [{ repo: 'alpha', project_maturity: 'ancient' }, /^policy: project_maturity: .*prototype/],
      [{ repo: 'alpha', strictness_level: 'brutal' }, /^policy: strictness_level: .*very_strict/],
      [{ coverage_threshold: 50 }, /^policy: repo: is required/],
      [{ repo: '  ' }, /^policy: repo: must not be empty/],
      [{ repo: 'alpha', colour: 'red' }, /^policy: colour: /],
    ];
    for (const [input, message] of cases) {
      await assert.rejects(setPolicy(db.conn, input), (err: Error) => err instanceof InvalidInputError && message.test(err.message), JSON.stringify(input));
    }
    assert.equal((await policyHistory(db.conn)).length, 3);
    assert.equal((await listPolicies(db.conn)).find((p) => p.repo === 'alpha')!.coverage_threshold, 85);
  });

  it('one policy per repository, enforced by the schema too', async () => {
    await assert.rejects(
      db.conn.run(`INSERT INTO quality_policies (policy_id, repo) VALUES (uuid(), 'alpha')`),
      /constraint|duplicate/i,
    );
  });
});

describe('quality policies: evidence-driven adjustment on a real database', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof openStore>>;
  const longAgo = daysBefore(40);

  before(async () => {
    dir = tempDir();
    db = await openStore(join(dir, 'adjust.duckdb'));
    const rows = [
      // Success 90% → 65% and quality 88 → 72: both fell, clearly.
      ...executions('down', 'previous', 100, 90, 88),
      ...executions('down', 'recent', 100, 65, 72),
      // The same fall on 20 executions a window: too little evidence.
      ...executions('thin', 'previous', 20, 18, 88),
      ...executions('thin', 'recent', 20, 10, 60),
      // 85% → 82%, quality 80 → 79: noise.
      ...executions('noisy', 'previous', 100, 85, 80),
      ...executions('noisy', 'recent', 100, 82, 79),
      // Success flat, quality 88 → 80: one signal only.
      ...executions('quality-only', 'previous', 100, 90, 88),
      ...executions('quality-only', 'recent', 100, 90, 80),
      // A clear fall, but the policy was set by hand five days ago.
      ...executions('fresh', 'previous', 100, 90, 88),
      ...executions('fresh', 'recent', 100, 50, 70),
      // Plenty of evidence, no policy.
      ...executions('unmanaged', 'previous', 100, 90, 88),
      ...executions('unmanaged', 'recent', 100, 50, 70),
    ];
    await db.store.writer.commit({ executions: rows, rejected: [] });
    await db.store.writer.flushSummaries();
    for (const repo of ['down', 'thin', 'noisy', 'quality-only']) await setPolicy(db.conn, { repo, project_maturity: 'growing' }, 'initial', { now: longAgo });
    await setPolicy(db.conn, { repo: 'fresh', project_maturity: 'growing' }, 'initial', { now: daysBefore(5) });
  });
  after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a repository whose success and quality fell significantly gets a stricter proposal, with the numbers', async () => {
    const r = await adjustPolicies(db.conn, { now: NOW });
    assert.equal(r.applied, false);
    assert.deepEqual(r.windows, { recent: { from: '2026-03-02', to: '2026-03-15' }, previous: { from: '2026-02-16', to: '2026-03-01' } });
    assert.deepEqual(r.proposals.map((p) => p.repo), ['down', 'quality-only']);
    const down = r.proposals[0]!;
    assert.equal(down.direction, 'tighten');
    assert.deepEqual(down.from, { coverage_threshold: 70, strictness_level: 'standard' });
    assert.deepEqual(down.to, { coverage_threshold: 75, strictness_level: 'strict' });
    const e = down.evidence;
    assert.deepEqual([e.previous.executions, e.previous.successes, e.previous.success_rate, e.previous.avg_quality, e.previous.quality_count], [100, 90, 0.9, 88, 100]);
    assert.deepEqual([e.recent.executions, e.recent.successes, e.recent.success_rate, e.recent.avg_quality], [100, 65, 0.65, 72]);
    assert.equal(e.success_delta, -0.25);
    assert.equal(e.quality_delta, -16);
    const z = -0.25 / Math.sqrt(0.775 * 0.225 * (2 / 100));
    assert.ok(Math.abs(e.z! - z) < 1e-3, `z ${e.z} vs ${z}`);
    assert.match(down.reason, /success rate fell 90\.0% → 65\.0% \(−25\.0 points, z = −4\.23/);
    assert.match(down.reason, /average quality fell 88\.0 → 72\.0 \(−16\.0/);
    assert.match(down.reason, /tighten coverage 70 → 75, strictness standard → strict$/);

    // One signal: coverage moves, strictness stays.
    const q = r.proposals[1]!;
    assert.deepEqual(q.to, { coverage_threshold: 75, strictness_level: 'standard' });
    assert.match(q.reason, /average quality fell 88\.0 → 80\.0/);
    assert.match(q.reason, /strictness moves only when success and quality agree/);

    const code = (repo: string) => r.skipped.find((s) => s.repo === repo)?.code;
    assert.equal(code('thin'), 'insufficient_evidence', 'too little evidence: no proposal');
    assert.match(r.skipped.find((s) => s.repo === 'thin')!.reason, /20 previous and 20 recent executions, 50 needed/);
    assert.equal(code('noisy'), 'no_signal', 'noise: no proposal');
    assert.match(r.skipped.find((s) => s.repo === 'noisy')!.reason, /^within noise: success rate 85\.0% → 82\.0%/);
    assert.equal(code('fresh'), 'manual_freeze');
    assert.equal(code('unmanaged'), 'no_policy');
    assert.equal(r.changes.length, 0);
    assert.equal((await policyHistory(db.conn)).length, 5, 'proposing writes nothing');
    assert.equal((await listPolicies(db.conn)).find((p) => p.repo === 'down')!.coverage_threshold, 70);
  });

  it('--apply writes the policies (last_adjusted, adjustment_reason) and the history, once', async () => {
    const r = await adjustPolicies(db.conn, { now: NOW, apply: true });
    assert.equal(r.applied, true);
    assert.equal(r.changes.length, 2);
    const down = (await listPolicies(db.conn)).find((p) => p.repo === 'down')!;
    assert.deepEqual([down.coverage_threshold, down.strictness_level, down.project_maturity], [75, 'strict', 'growing']);
    assert.equal(down.last_adjusted?.getTime(), NOW.getTime());
    assert.equal(down.adjustment_reason, `adjustment: ${r.proposals[0]!.reason}`);

    const h = await policyHistory(db.conn, { repo: 'down' });
    assert.equal(h.length, 2);
    const last = h[1]!;
    assert.equal(last.source, 'adjustment');
    assert.equal(last.changed_at.getTime(), NOW.getTime());
    assert.deepEqual(last.before, { project_maturity: 'growing', coverage_threshold: 70, strictness_level: 'standard' });
    assert.deepEqual(last.after, { project_maturity: 'growing', coverage_threshold: 75, strictness_level: 'strict' });
    const ev = last.evidence as { direction: string; recent: WindowEvidence; previous: WindowEvidence; z: number; rules: { minExecutions: number } };
    assert.equal(ev.direction, 'tighten');
    assert.equal(ev.recent.executions, 100);
    assert.equal(ev.previous.success_rate, 0.9);
    assert.ok(ev.z < -4);
    assert.equal(ev.rules.minExecutions, 50);

    // The same data again: the policies were just adjusted, so nothing steps twice.
    for (const now of [NOW, new Date(NOW.getTime() + DAY)]) {
      const again = await adjustPolicies(db.conn, { now, apply: true });
      assert.deepEqual(again.proposals, []);
      assert.equal(again.skipped.find((s) => s.repo === 'down')!.code, 'cooldown');
      assert.equal(again.skipped.find((s) => s.repo === 'quality-only')!.code, 'cooldown');
    }
    assert.equal((await policyHistory(db.conn)).length, 7);
    assert.equal((await listPolicies(db.conn)).find((p) => p.repo === 'down')!.coverage_threshold, 75);
  });
});

describe('proposeAdjustments (pure rules)', () => {
  const window = (from: string, executions: number, successes: number, quality_count: number, avg_quality: number | null): WindowEvidence => ({
    from,
    to: from,
    executions,
    successes,
    success_rate: executions ? successes / executions : null,
    quality_count,
    avg_quality,
  });
  const stats = (repo: string, prev: [number, number, number | null], recent: [number, number, number | null]): RepoStats => ({
    repo,
    previous: window('2026-02-16', prev[0], prev[1], prev[2] === null ? 0 : prev[0], prev[2]),
    recent: window('2026-03-02', recent[0], recent[1], recent[2] === null ? 0 : recent[0], recent[2]),
  });
  const policy = (repo: string, coverage_threshold: number, strictness_level: PolicyState['strictness_level']): PolicyState => ({
    policy_id: `00000000-0000-4000-8000-${String(repo.length).padStart(12, '0')}`,
    repo,
    project_maturity: 'growing',
    coverage_threshold,
    strictness_level,
    last_adjusted: null,
    adjustment_reason: null,
    last_manual_change: null,
  });
  const one = (s: RepoStats, p: PolicyState) => proposeAdjustments([s], [p], DEFAULT_RULES, NOW);

  it('two-proportion z-test', () => {
    assert.ok(Math.abs(twoProportionZ(90, 100, 65, 100) - -4.233) < 1e-3);
    assert.equal(twoProportionZ(100, 100, 100, 100), 0, 'no variance, no evidence');
    assert.equal(twoProportionZ(0, 0, 5, 10), 0);
  });

  it('caps: coverage never passes 95, strictness stops at very_strict; at the limit nothing is proposed', () => {
    const fall = stats('r', [200, 180, 90], [200, 120, 70]);
    const p = one(fall, policy('r', 93, 'very_strict'));
    assert.deepEqual(p.proposals[0]!.to, { coverage_threshold: 95, strictness_level: 'very_strict' });
    const capped = one(fall, policy('r', 95, 'very_strict'));
    assert.deepEqual(capped.proposals, []);
    assert.equal(capped.skipped[0]!.code, 'at_limit');
  });

  it('relaxing needs stronger proof than tightening (hysteresis), quality measured and a high rate, and stops at 40', () => {
    // 80% → 97% on 200 each, quality 85 → 91: relax both one step.
    const strong = one(stats('r', [200, 160, 85], [200, 194, 91]), policy('r', 70, 'strict'));
    assert.equal(strong.proposals[0]!.direction, 'relax');
    assert.deepEqual(strong.proposals[0]!.to, { coverage_threshold: 65, strictness_level: 'standard' });
    assert.match(strong.proposals[0]!.reason, /z = \d+\.\d+ ≥ 2\.576/);
    // Quality held: coverage only.
    assert.deepEqual(one(stats('r', [200, 160, 85], [200, 194, 86]), policy('r', 70, 'strict')).proposals[0]!.to, { coverage_threshold: 65, strictness_level: 'strict' });
    // Success rose to 91%, significant at 95% but not 99% (z ≈ 2.25): a fall that size would tighten, a rise does not relax.
    const s1 = 167, s2 = 182; // of 200 each: 83.5% and 91%
    const z = twoProportionZ(s1, 200, s2, 200);
    assert.ok(z > 1.96 && z < 2.576, String(z));
    const mid = one(stats('r', [200, s1, 85], [200, s2, 92]), policy('r', 70, 'strict'));
    assert.deepEqual(mid.proposals, []);
    assert.equal(mid.skipped[0]!.code, 'no_signal');
    const mirrored = one(stats('r', [200, s2, 85], [200, s1, 85]), policy('r', 70, 'strict'));
    assert.equal(mirrored.proposals[0]!.direction, 'tighten');
    // No quality measured: no relaxing on success alone.
    assert.equal(one(stats('r', [200, 160, null], [200, 194, null]), policy('r', 70, 'strict')).skipped[0]!.code, 'no_signal');
    // The floor.
    assert.deepEqual(one(stats('r', [200, 160, 85], [200, 194, 91]), policy('r', 42, 'standard')).proposals[0]!.to, { coverage_threshold: 40, strictness_level: 'lenient' });
    assert.equal(one(stats('r', [200, 160, 85], [200, 194, 91]), policy('r', 40, 'lenient')).skipped[0]!.code, 'at_limit');
  });

  it('conflicting signals, cool-down, manual freeze and missing evidence propose nothing', () => {
    assert.equal(one(stats('r', [200, 180, 70], [200, 120, 90]), policy('r', 70, 'standard')).skipped[0]!.code, 'conflicting');
    const fall = stats('r', [200, 180, 90], [200, 120, 70]);
    assert.equal(one(fall, { ...policy('r', 70, 'standard'), last_adjusted: daysBefore(13) }).skipped[0]!.code, 'cooldown');
    assert.equal(one(fall, { ...policy('r', 70, 'standard'), last_adjusted: daysBefore(15) }).proposals.length, 1);
    assert.equal(one(fall, { ...policy('r', 70, 'standard'), last_adjusted: daysBefore(29), last_manual_change: daysBefore(29) }).skipped[0]!.code, 'manual_freeze');
    const none = proposeAdjustments([], [policy('r', 70, 'standard')], DEFAULT_RULES, NOW);
    assert.equal(none.skipped[0]!.code, 'insufficient_evidence');
    assert.equal(none.skipped[0]!.evidence.recent.executions, 0);
    // A repository without a policy: reported, never proposed.
    const orphan = proposeAdjustments([fall], [], DEFAULT_RULES, NOW);
    assert.deepEqual(orphan.proposals, []);
    assert.equal(orphan.skipped[0]!.code, 'no_policy');
  });
});

describe('orb-learn policy, end to end', () => {
  it('set, list, history and adjust on the file; a clear message when a server holds it', async () => {
    const dir = tempDir();
    const path = join(dir, 'cli.duckdb');
    const now = new Date();
    const db = await openStore(path);
    await db.store.writer.commit({ executions: [...executions('svc', 'previous', 120, 108, 90, now), ...executions('svc', 'recent', 120, 60, 70, now)], rejected: [] });
    await setPolicy(db.conn, { repo: 'svc', project_maturity: 'mature' }, 'initial', { now: daysBefore(40, now) });
    await db.close();

    const cli = async (...args: string[]) => {
      const r = await runCli(['policy', ...args, '--db', path]);
      return r;
    };
    const dry = await cli('adjust');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /svc: tighten coverage 80 → 85, strictness strict → very_strict/);
    assert.match(dry.stdout, /success rate fell 90\.0% → 50\.0%/);
    assert.match(dry.stdout, /pass --apply/);

    const applied = await cli('adjust', '--apply', '--json');
    assert.equal(applied.code, 0, applied.stderr);
    const report = JSON.parse(applied.stdout) as { applied: boolean; changes: unknown[]; proposals: { repo: string }[] };
    assert.equal(report.applied, true);
    assert.equal(report.changes.length, 1);
    const again = JSON.parse((await cli('adjust', '--apply', '--json')).stdout) as { proposals: unknown[]; skipped: { repo: string; code: string }[] };
    assert.deepEqual(again.proposals, []);
    assert.deepEqual(again.skipped.map((s) => [s.repo, s.code]), [['svc', 'cooldown']]);

    const set = await cli('set', '--repo', 'svc', '--coverage', '60', '--reason', 'team decision');
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /changed the policy of svc/);
    const list = JSON.parse((await cli('list', '--json')).stdout) as { repo: string; coverage_threshold: number; strictness_level: string }[];
    assert.deepEqual(list.map((p) => [p.repo, p.coverage_threshold, p.strictness_level]), [['svc', 60, 'very_strict']]);
    const history = JSON.parse((await cli('history', '--repo', 'svc', '--json')).stdout) as { source: string; reason: string }[];
    assert.deepEqual(history.map((c) => c.source), ['manual', 'adjustment', 'manual']);
    assert.equal(history[2]!.reason, 'team decision');
    const table = await cli('history');
    assert.match(table.stdout, /changed_at\s+repo\s+source/);
    assert.match(table.stdout, /adjustment\s+mature\s+80 → 85\s+strict → very_strict/);

    const bad = await cli('set', '--repo', 'svc', '--coverage', 'lots');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /coverage_threshold/);

    const missing = await runCli(['policy', 'list', '--db', join(dir, 'typo.duckdb')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no database at .*typo\.duckdb/);

    // A running server holds its file.
    const server = await startTestServer();
    try {
      const locked = await runCli(['policy', 'list', '--db', join(server.dir, 'learning.duckdb')]);
      assert.equal(locked.code, 1);
      assert.match(locked.stderr, /is locked by another process \(PID \d+\), most likely a running `orb-learn serve`/);
      assert.match(locked.stderr, /stop the server .* or use the running server's HTTP API/);
    } finally {
      await server.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
