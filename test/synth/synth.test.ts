import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { ExecutionRow } from '../../src/convert/record.js';
import { TASK_TYPES, TIERS } from '../../src/synth/catalog.js';
import { generateExecutions, type GenerateOptions } from '../../src/synth/generate.js';
import { runCli } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';
import { writeTinyModel } from '../helpers/tiny-model.js';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const DAY = 86_400_000;

function all(opts: GenerateOptions): ExecutionRow[] {
  const rows: ExecutionRow[] = [];
  for (const chunk of generateExecutions(opts)) rows.push(...chunk);
  return rows;
}

async function query(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('synthetic executions: the generator', () => {
  it('is deterministic for a seed, whatever the chunk size, and differs between seeds', () => {
    const a = all({ rows: 3000, seed: 7, now: NOW });
    const b = all({ rows: 3000, seed: 7, now: NOW, chunkSize: 777 });
    assert.deepEqual(a, b);
    const c = all({ rows: 3000, seed: 8, now: NOW });
    assert.notDeepEqual(
      a.map((r) => r.task_id),
      c.map((r) => r.task_id),
    );
    assert.equal(new Set(a.map((r) => r.task_id)).size, a.length, 'task ids are unique');
  });

  it('yields chunks of the asked size and exactly the asked number of rows', () => {
    const sizes = [...generateExecutions({ rows: 25_001, seed: 1, now: NOW, chunkSize: 10_000 })].map((c) => c.length);
    assert.deepEqual(sizes, [10_000, 10_000, 5_001]);
    assert.deepEqual([...generateExecutions({ rows: 0, now: NOW })], []);
  });

  it('produces rows that the zod ExecutionRow schema accepts unchanged', () => {
    const rows = all({ rows: 5000, seed: 3, now: NOW, validate: 'all' });
    for (const r of rows) assert.deepEqual(ExecutionRow.parse(r), r);
    // Every nullable field is sometimes null and sometimes not.
    for (const f of ['swarm_topology', 'predicted_success_probability', 'quality_score', 'error_type', 'error_message', 'user_accepted', 'user_rating', 'peak_memory_mb', 'cpu_time_seconds', 'solution_summary'] as const) {
      assert.ok(rows.some((r) => r[f] === null) && rows.some((r) => r[f] !== null), f);
    }
    assert.ok(rows.every((r) => /^[0-9a-f]{32}$/.test(r.trace_id!) && /^[0-9a-f]{16}$/.test(r.span_id!)));
    assert.ok(rows.every((r) => r.metadata.synthetic === true));
  });

  it('spreads timestamps over the window in ascending order, with a daily rhythm', () => {
    const days = 30;
    const rows = all({ rows: 20_000, days, seed: 5, now: NOW });
    let prev = -Infinity;
    for (const r of rows) {
      const t = r.timestamp.getTime();
      assert.ok(t >= prev, 'ascending');
      assert.ok(t >= NOW - days * DAY && t < NOW, 'inside the window');
      assert.ok(r.received_at.getTime() >= t && r.received_at.getTime() <= NOW, 'received after it started, never in the future');
      prev = t;
    }
    const byHour = new Array<number>(24).fill(0);
    for (const r of rows) byHour[r.timestamp.getUTCHours()]!++;
    const work = byHour.slice(9, 17).reduce((a, b) => a + b, 0) / 8;
    const night = byHour.slice(0, 6).reduce((a, b) => a + b, 0) / 6;
    assert.ok(work > 4 * night, `working hours ${work.toFixed(0)}/h vs night ${night.toFixed(0)}/h`);
    const firstWeek = rows.filter((r) => r.timestamp.getTime() < NOW - (days - 7) * DAY).length;
    const lastWeek = rows.filter((r) => r.timestamp.getTime() >= NOW - 7 * DAY).length;
    assert.ok(firstWeek > 0 && lastWeek > firstWeek, 'activity grows over the window');
  });

  describe('the learnable truth, in aggregate over 20,000 rows', () => {
    const rows = all({ rows: 20_000, seed: 1, now: NOW });
    const cell = (type: string | null, tier: string) => {
      const rs = rows.filter((r) => (type === null || r.task_type === type) && r.model_tier === tier);
      const q = rs.filter((r) => r.quality_score !== null);
      return {
        n: rs.length,
        success: rs.filter((r) => r.success).length / rs.length,
        cost: rs.reduce((s, r) => s + r.actual_cost, 0) / rs.length,
        estimate: rs.reduce((s, r) => s + (r.cost_estimate ?? 0), 0) / rs.length,
        quality: q.reduce((s, r) => s + r.quality_score!, 0) / q.length,
      };
    };

    it('covers every task type × tier with enough rows to learn from', () => {
      for (const t of TASK_TYPES) for (const tier of TIERS) assert.ok(cell(t.name, tier).n >= 100, `${t.name}/${tier}: ${cell(t.name, tier).n}`);
    });

    it('docs and tests: the small tier succeeds about as often as large, for far less', () => {
      for (const type of ['docs', 'test']) {
        const small = cell(type, 'small');
        const large = cell(type, 'large');
        assert.ok(Math.abs(small.success - large.success) < 0.04, `${type}: small ${small.success.toFixed(3)} vs large ${large.success.toFixed(3)}`);
        assert.ok(Math.abs(small.quality - large.quality) < 4, `${type} quality: ${small.quality.toFixed(1)} vs ${large.quality.toFixed(1)}`);
        assert.ok(small.cost * 8 < large.cost, `${type} cost: ${small.cost} vs ${large.cost}`);
      }
    });

    it('refactor, migration, security: large clearly wins on success and quality; medium in between', () => {
      for (const type of ['refactor', 'migration', 'security']) {
        const [small, medium, large] = TIERS.map((t) => cell(type, t)) as [ReturnType<typeof cell>, ReturnType<typeof cell>, ReturnType<typeof cell>];
        assert.ok(large.success - small.success > 0.2, `${type}: large ${large.success.toFixed(3)} vs small ${small.success.toFixed(3)}`);
        assert.ok(small.success < medium.success && medium.success < large.success, type);
        assert.ok(large.quality - small.quality > 10, `${type} quality: ${large.quality.toFixed(1)} vs ${small.quality.toFixed(1)}`);
      }
    });

    it('costs medium ≈ 4× and large ≈ 15× small, and estimates undershoot more for larger tiers', () => {
      const [small, medium, large] = TIERS.map((t) => cell(null, t)) as [ReturnType<typeof cell>, ReturnType<typeof cell>, ReturnType<typeof cell>];
      // Per task type, so the tiers' different task mixes do not blur the ratio.
      for (const t of ['fix', 'docs', 'refactor']) {
        const s = cell(t, 'small').estimate;
        const m = cell(t, 'medium').estimate / s;
        const l = cell(t, 'large').estimate / s;
        assert.ok(m > 3 && m < 5.5, `${t} medium/small estimate ${m.toFixed(2)}`);
        assert.ok(l > 11 && l < 20, `${t} large/small estimate ${l.toFixed(2)}`);
      }
      const bias = (c: typeof small) => c.cost / c.estimate;
      assert.ok(bias(small) < bias(medium) && bias(medium) < bias(large), `${bias(small)} ${bias(medium)} ${bias(large)}`);
      assert.ok(bias(large) - bias(small) > 0.2);
    });

    it('failures carry an error type and message; successes do not', () => {
      for (const r of rows) {
        if (r.success) assert.ok(r.error_type === null && r.error_message === null);
        else assert.ok(r.error_type !== null && r.error_message, `failed row ${r.task_id}`);
      }
      assert.ok(new Set(rows.map((r) => r.error_type)).size === 6, 'all five error types, and null');
    });

    it('repeats solution summaries (the patterns query has material) and leaves ~40% without one', () => {
      const uses = new Map<string, number>();
      for (const r of rows) if (r.solution_summary) uses.set(r.solution_summary, (uses.get(r.solution_summary) ?? 0) + 1);
      const nullShare = rows.filter((r) => r.solution_summary === null).length / rows.length;
      assert.ok(nullShare > 0.3 && nullShare < 0.5, `null share ${nullShare}`);
      assert.ok([...uses.values()].filter((n) => n >= 10).length >= 30, 'many summaries are used ten times or more');
      assert.ok(uses.size <= 100, `${uses.size} distinct summaries`);
    });

    it('draws descriptions from templates: a few thousand distinct texts at most', () => {
      const distinct = new Set(rows.map((r) => r.task_description));
      assert.ok(distinct.size >= 300 && distinct.size <= 4000, `${distinct.size} distinct descriptions`);
      assert.ok(rows.some((r) => /^Fix flaky \w[\w-]* tests that fail intermittently on CI$/.test(r.task_description)));
    });
  });
});

describe('orb-learn synth (CLI, real DuckDB file)', () => {
  const dir = tempDir('orb-synth-');
  const modelDir = writeTinyModel(join(dir, 'tiny'));

  it('writes 5,000 executions, each with exactly one vector; identical contents share one', async () => {
    const db = join(dir, 'vectors.duckdb');
    const r = await runCli(['synth', '--rows', '5000', '--db', db, '--model-dir', modelDir, '--days', '30', '--seed', '9']);
    assert.equal(r.code, 0, r.stderr);
    const m = /^synth: 5000 rows written to .*, (\d+) distinct contents embedded with (\S+), [\d.]+ s, DB [\d.]+ MiB\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const [c] = await query(
      db,
      `SELECT (SELECT count(*) FROM executions)::INT executions,
              (SELECT count(*) FROM execution_embeddings)::INT vectors,
              (SELECT count(DISTINCT task_id) FROM execution_embeddings)::INT tasks,
              (SELECT count(*) FROM executions ANTI JOIN execution_embeddings USING (task_id))::INT missing,
              (SELECT count(DISTINCT content_hash) FROM execution_embeddings)::INT contents,
              (SELECT count(DISTINCT model_id) FROM execution_embeddings)::INT models,
              (SELECT max(n) FROM (SELECT count(DISTINCT embedding) n FROM execution_embeddings GROUP BY content_hash))::INT vectors_per_content,
              (SELECT model_id FROM embedding_models) model_id,
              (SELECT sum(total_executions) FROM tier_performance_mv)::INT summarized`,
    );
    assert.deepEqual(c, {
      executions: 5000,
      vectors: 5000,
      tasks: 5000,
      missing: 0,
      contents: Number(m[1]),
      models: 1,
      vectors_per_content: 1,
      model_id: m[2],
      summarized: 5000,
    });
    assert.ok(Number(m[1]) < 5000, 'some executions share a content');

    const again = await runCli(['synth', '--rows', '10', '--db', db, '--no-vectors']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds 5000 executions: pass --append/);
  });

  it('--no-vectors writes executions and no vectors', async () => {
    const db = join(dir, 'plain.duckdb');
    const r = await runCli(['synth', '--rows', '5k', '--db', db, '--no-vectors']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^synth: 5000 rows written to .*, no vectors, /);
    const [c] = await query(db, `SELECT (SELECT count(*) FROM executions)::INT e, (SELECT count(*) FROM execution_embeddings)::INT v, (SELECT count(*) FROM embedding_models)::INT m`);
    assert.deepEqual(c, { e: 5000, v: 0, m: 0 });
  });

  it('fails before writing anything when no model can be loaded, and suggests --no-vectors', async () => {
    const db = join(dir, 'nomodel.duckdb');
    const r = await runCli(['synth', '--rows', '100', '--db', db, '--model-dir', join(dir, 'no-such-model')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no embedding model could be loaded .*--no-vectors/);
    assert.equal(existsSync(db), false);
  });
});
