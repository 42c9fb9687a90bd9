// The one query library behind the CLI, the HTTP API and code: the review's questions (§3.1,
// §3.2), answered from the summary tables and the in-process vector index.
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { InvalidInputError, RetryableError } from '../errors.js';
import { firstIssue } from '../convert/issues.js';
import { queryContent } from '../embed/content.js';
import { Lru } from '../embed/lru.js';
import { DEFAULT_LEXICAL_WEIGHT } from './lexical-index.js';
import { executionsSource, feedbackSource } from '../store/archive-layout.js';
import { sketchQuantile } from '../store/summaries.js';
import { committedSummarySources } from '../store/summary-journal.js';
import { QUERY_PARAMS, type QueryName, type QueryParams } from './params.js';
import { Slots, type ReadPool } from './pool.js';
import { runCallerSql } from './caller-sql.js';
import type { SqlProcess } from './sql-process.js';
import { isSeriesName, runSeries } from './series.js';
import type { VectorHit, VectorIndex } from './vector-index.js';
import { legacyRecommend, wilson, type TierEvidence } from './router/legacy.js';
import { LEGACY_K, Router, ROUTER_K, ROUTER_TASKS, type RouterOptions } from './router/recommend.js';
import { evalRouting } from './router/eval-query.js';

export { wilson, type TierEvidence };

export interface TextEmbedder {
  readonly modelId: string;
  embed(texts: string[]): Promise<{ vectors: Float32Array[] }>;
}

export interface QueryResult {
  query: QueryName;
  params: Record<string, unknown>;
  rows: Record<string, unknown>[];
  /** Recommendation and other answers that are not a table. */
  answer?: Record<string, unknown>;
  notes: string[];
  explain?: string;
  took_ms: number;
}

export interface QueryOptions {
  explain?: boolean;
  now?: Date;
  /** Long queries (eval-routing) report how far they are. */
  onProgress?: (done: number, total: number) => void;
}

export { DEFAULT_LEXICAL_WEIGHT };

export interface QueryLibraryOptions {
  /** Default lexical_weight of similar and recommend; 0 ranks by cosine alone. */
  lexicalWeight?: number;
  /** recommend's server-wide settings: default mode, exploration share, history cache. */
  router?: RouterOptions;
  /** Largest result of the caller's SQL, in bytes of JSON (default 16 MiB). */
  maxResultBytes?: number;
  /** The caller's SQL statements that may run at once (default 1): the rest wait, within their time limit. */
  sqlConcurrency?: number;
  /** Where the caller's SQL runs once a snapshot exists: a process of its own over it (sql-process.ts). */
  sqlProcess?: Pick<SqlProcess, 'available' | 'run'>;
}

export const DEFAULT_MAX_RESULT_BYTES = 16 * 1024 * 1024;

type Sql = { text: string; values: DuckDBValue[] };

const DAY_MS = 86_400_000;

/** Queries that read summaries as committed (journal included) or none: they never wait for the writer. */
const READS_COMMITTED = new Set<string>(['similar', 'tiers', 'pools', 'cost-error', 'recommend']);

function where(conds: [string, DuckDBValue | undefined][], values: DuckDBValue[]): string {
  const parts: string[] = [];
  for (const [cond, v] of conds) {
    if (v === undefined) continue;
    values.push(v);
    parts.push(cond.replace('?', `$${values.length}`));
  }
  return parts.length ? `WHERE ${parts.join(' AND ')}` : '';
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
const plain = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v);
const plainRow = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.isArray(v) ? v.map(plain) : plain(v)]));

export class QueryLibrary {
  private readonly lexicalWeight: number;
  private readonly maxResultBytes: number;
  private readonly sqlLane: Slots;
  private readonly sqlProcess: QueryLibraryOptions['sqlProcess'];
  /** FROM sources of the additive summary tables as committed, the journal included. */
  private summaries: Map<string, string> | null = null;
  readonly router: Router;

  constructor(
    private readonly pool: ReadPool,
    private readonly vectors: () => { index: VectorIndex; embedder: TextEmbedder } | null,
    private readonly archiveDir: string | null = null,
    /**
     * Brings the summary tables up to what is committed (read-your-writes). It waits for the
     * writer's turn, so only the queries that read non-additive summaries (patterns), the
     * dashboard's series and the caller's SQL call it; the others read the journal beside the tables (committedSummarySources).
     */
    private readonly freshen: () => Promise<void> = async () => undefined,
    options: QueryLibraryOptions = {},
  ) {
    this.lexicalWeight = options.lexicalWeight ?? DEFAULT_LEXICAL_WEIGHT;
    this.maxResultBytes = options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
    this.sqlLane = new Slots(options.sqlConcurrency ?? 1);
    this.sqlProcess = options.sqlProcess;
    if (!(this.lexicalWeight >= 0 && this.lexicalWeight <= 1)) throw new RangeError(`lexicalWeight must be within 0..1, got ${options.lexicalWeight}`);
    this.router = new Router((text, values) => this.read({ text, values }, false).then((r) => r.rows), options.router);
  }

  /** Validates raw parameters (strings from a URL or flags are coerced) and runs the query. */
  async run(name: QueryName, raw: Record<string, unknown>, opts: QueryOptions = {}): Promise<QueryResult> {
    const parsed = QUERY_PARAMS[name].safeParse(raw);
    if (!parsed.success) throw new InvalidInputError(`${name}: ${firstIssue(parsed.error)}`);
    const started = performance.now();
    const params = parsed.data as Record<string, unknown>;
    if ((name === 'similar' || name === 'recommend') && params.lexical_weight === undefined) params.lexical_weight = this.lexicalWeight;
    const now = opts.now ?? new Date();
    // The snapshot's summaries were merged when it was taken: SQL over it waits for nobody.
    const onSnapshot = name === 'sql' && this.sqlProcess?.available();
    if (!READS_COMMITTED.has(name) && !onSnapshot) await this.freshen();
    else if (!this.summaries) this.summaries = await this.pool.use((conn) => committedSummarySources(conn));
    const result = await this.dispatch(name, params, now, opts.explain ?? false, opts.onProgress);
    return { query: name, params, ...result, took_ms: Math.round((performance.now() - started) * 100) / 100 };
  }

  private dispatch(name: QueryName, p: Record<string, unknown>, now: Date, explain: boolean, onProgress?: (done: number, total: number) => void): Promise<Omit<QueryResult, 'query' | 'params' | 'took_ms'>> {
    switch (name) {
      case 'similar':
        return this.similar(p as QueryParams<'similar'>, now, explain);
      case 'tiers':
        return this.tiers(p as QueryParams<'tiers'>, now, explain);
      case 'patterns':
        return this.sqlQuery(this.patternsSql(p as QueryParams<'patterns'>), explain);
      case 'pools':
        return this.sqlQuery(this.poolsSql(p as QueryParams<'pools'>, now), explain);
      case 'cost-error':
        return this.costError(p as QueryParams<'cost-error'>, now, explain);
      case 'recommend':
        return this.recommend(p as QueryParams<'recommend'>, now);
      case 'rejected':
        return this.rejected(p as QueryParams<'rejected'>, now, explain);
      case 'sql':
        return this.sql(p as QueryParams<'sql'>, explain);
      case 'eval-routing':
        return evalRouting((fn) => this.pool.use(fn), p as QueryParams<'eval-routing'>, this.vectors()?.index.modelId ?? null, now, onProgress);
      default:
        if (isSeriesName(name)) return this.series(name, p, now);
        throw new InvalidInputError(`no query ${JSON.stringify(name)}`);
    }
  }

  /** The dashboard's queries (series.ts), on this library's connections. */
  private series(name: Parameters<typeof runSeries>[0], p: Record<string, unknown>, now: Date) {
    return runSeries(name, p, {
      read: async (sql) => (await this.read(sql, false)).rows,
      where,
      firstDay: (days) => this.sinceDate(now, days).toISOString().slice(0, 10),
      now,
      wilson,
    });
  }

  private async read(sql: Sql, explain: boolean): Promise<{ rows: Record<string, unknown>[]; explain?: string }> {
    return this.pool.use(async (conn) => {
      const rows = ((await conn.runAndReadAll(sql.text, sql.values)).getRowObjectsJS() as Record<string, unknown>[]).map(plainRow);
      if (!explain) return { rows };
      return { rows, explain: await explainAnalyze(conn, sql) };
    });
  }

  private async sqlQuery(sql: Sql, explain: boolean) {
    const r = await this.read(sql, explain);
    return { rows: r.rows, explain: r.explain, notes: [] as string[] };
  }

  /** An additive summary table as committed, without waiting for the writer to merge its journal. */
  private summary(table: string): string {
    const source = this.summaries?.get(table);
    if (!source) throw new Error(`${table} is not an additive summary table`);
    return `${source} AS ${table}`;
  }

  private sinceDate(now: Date, days: number): Date {
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (days - 1) * DAY_MS);
  }

  private tierFilter(p: { task_type?: string; repo?: string; days: number }, now: Date, values: DuckDBValue[]): string {
    return where(
      [
        ['date >= ?::DATE', this.sinceDate(now, p.days).toISOString().slice(0, 10)],
        ['task_type = ?', p.task_type],
        ['repo = ?', p.repo],
      ],
      values,
    );
  }

  private async tiers(p: QueryParams<'tiers'>, now: Date, explain: boolean) {
    const values: DuckDBValue[] = [];
    const filter = this.tierFilter(p, now, values);
    const sums: Sql = {
      text: `SELECT model_tier, sum(total_executions)::BIGINT AS total, sum(successful_count)::BIGINT AS successful,
          sum(successful_count) / sum(total_executions) AS success_rate,
          sum(sum_duration) / sum(total_executions) AS avg_duration, sum(sum_cost) / sum(total_executions) AS avg_cost,
          sum(sum_quality) / nullif(sum(quality_count), 0) AS avg_quality
        FROM ${this.summary('tier_performance_mv')} ${filter} GROUP BY model_tier`,
      values,
    };
    const sketch: Sql = { text: `SELECT model_tier, bucket, sum(count)::BIGINT AS count FROM ${this.summary('tier_duration_sketch')} ${filter} GROUP BY model_tier, bucket`, values };
    const [a, b] = await Promise.all([this.read(sums, explain), this.read(sketch, false)]);
    const byTier = new Map<string, { bucket: number; count: number }[]>();
    for (const r of b.rows) {
      const t = String(r.model_tier);
      if (!byTier.has(t)) byTier.set(t, []);
      byTier.get(t)!.push({ bucket: Number(r.bucket), count: Number(r.count) });
    }
    const rows = a.rows
      .map((r): Record<string, unknown> => ({ ...r, p95_duration: sketchQuantile(byTier.get(String(r.model_tier)) ?? [], 0.95) }))
      .sort((x, y) => (Number(y.avg_quality ?? -1) - Number(x.avg_quality ?? -1)) || Number(x.avg_duration) - Number(y.avg_duration));
    return {
      rows,
      explain: a.explain,
      notes: ['days count whole UTC days, today included; p95_duration comes from a log-bucket sketch, within ±1% of the exact nearest-rank p95'],
    };
  }

  /** The solution library: patterns merged across spellings; with --repo, the patterns used there. */
  private patternsSql(p: QueryParams<'patterns'>): Sql {
    const values: DuckDBValue[] = [];
    const filter = where([['list_contains(repos_used_in, ?)', p.repo], ['usage_count >= ?', p.min_usage]], values);
    values.push(p.limit);
    return {
      text: `SELECT pattern_id::VARCHAR AS pattern_id, solution_summary, usage_count, success_count, success_rate,
          sum_quality / nullif(quality_count, 0) AS avg_quality, task_types, repos_used_in AS repos, extracted_at AS first_seen, last_used AS last_seen
        FROM solutions ${filter}
        ORDER BY success_rate DESC, avg_quality DESC NULLS LAST, usage_count DESC, solution_summary LIMIT $${values.length}`,
      values,
    };
  }

  private poolsSql(p: QueryParams<'pools'>, now: Date): Sql {
    const values: DuckDBValue[] = [];
    const since = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - (p.days * 24 - 1) * 3_600_000);
    const filter = where([['hour >= ?::TIMESTAMP', since.toISOString()], ['repo = ?', p.repo]], values);
    return {
      text: `SELECT pool_type, hour, sum(total_tasks)::BIGINT AS total_tasks, sum(successful_tasks)::BIGINT AS successful_tasks,
          sum(successful_tasks) / sum(total_tasks) AS success_rate, sum(sum_duration) / sum(total_tasks) AS avg_duration,
          sum(sum_cost) / sum(total_tasks) AS avg_cost
        FROM ${this.summary('pool_performance_mv')} ${filter} GROUP BY pool_type, hour ORDER BY hour DESC, pool_type`,
      values,
    };
  }

  /** Estimates against actual cost, over the executions that carry a cost_estimate; the note says how many lacked one. */
  private async costError(p: QueryParams<'cost-error'>, now: Date, explain: boolean) {
    const values: DuckDBValue[] = [];
    const filter = this.tierFilter({ days: p.days }, now, values);
    const col = p.by === 'tier' ? 'model_tier' : 'task_type';
    const n = 'sum(estimate_count)';
    const r = await this.sqlQuery(
      {
        text: `SELECT ${col} AS ${p.by}, ${n}::BIGINT AS executions, (sum(total_executions) - ${n})::BIGINT AS skipped_without_estimate,
          sum(sum_cost_estimate) / ${n} AS avg_estimate, sum(sum_cost_with_estimate) / ${n} AS avg_actual,
          (sum(sum_cost_with_estimate) - sum(sum_cost_estimate)) / ${n} AS mean_error,
          sum(sum_abs_cost_error) / ${n} AS mean_abs_error,
          100 * sum(sum_abs_cost_error) / nullif(sum(sum_cost_estimate), 0) AS abs_error_pct
        FROM ${this.summary('tier_performance_mv')} ${filter} GROUP BY ${col} HAVING ${n} > 0 ORDER BY abs_error_pct DESC NULLS LAST`,
        values,
      },
      explain,
    );
    const skipped = (await this.read({ text: `SELECT coalesce(sum(total_executions) - sum(estimate_count), 0)::BIGINT AS n FROM ${this.summary('tier_performance_mv')} ${filter}`, values }, false)).rows[0]?.n;
    const k = Number(skipped ?? 0);
    if (k > 0) r.notes.push(`skipped ${k} execution${k === 1 ? '' : 's'} without a cost_estimate (runs learned from GenAI/OpenInference spans carry none unless execution.cost_estimate is set)`);
    return r;
  }

  /** What a producer asks when its spans do not show up: the latest rejections and why. */
  private async rejected(p: QueryParams<'rejected'>, now: Date, explain: boolean) {
    const values: DuckDBValue[] = [];
    const filter = where([['received_at >= ?::TIMESTAMP', new Date(now.getTime() - p.days * DAY_MS).toISOString()], ['service_name = ?', p.service]], values);
    const counts: Sql = { text: `SELECT reason, count(*)::BIGINT AS n FROM rejected_spans ${filter} GROUP BY reason ORDER BY n DESC, reason LIMIT 3`, values };
    const latest: Sql = {
      text: `SELECT received_at, service_name, span_name, trace_id, span_id, reason, attributes::VARCHAR AS attributes
        FROM rejected_spans ${filter} ORDER BY received_at DESC, rejected_id LIMIT $${values.length + 1}`,
      values: [...values, p.limit],
    };
    const [rows, top] = await Promise.all([this.read(latest, explain), this.read(counts, false)]);
    const total = await this.read({ text: `SELECT count(*)::BIGINT AS n FROM rejected_spans ${filter}`, values }, false);
    const n = Number(total.rows[0]?.n ?? 0);
    return {
      rows: rows.rows,
      explain: rows.explain,
      answer: { rejected: n, most_common: top.rows.map((r) => `${String(r.reason)} (${String(r.n)})`).join('; ') || null },
      notes: [
        n === 0
          ? `no span was rejected in the last ${p.days} days${p.service ? ` from ${p.service}` : ''}: a span that does not show up was not an execution span (no execution.* attribute) or never arrived (check the exporter's endpoint and the collector's routing)`
          : 'each rejected span is kept whole (attributes, resource) in rejected_spans: fix the producer, or correct and re-send it',
      ],
    };
  }

  private vectorsOrFail() {
    const v = this.vectors();
    if (!v) throw new RetryableError('no embedding model is loaded yet: similarity queries are unavailable', 5);
    return v;
  }

  /** Routers ask about the same task again (retries, fan-out): its vector is remembered, per model. */
  private readonly queryVectors = new Lru<string, Float32Array>(2048);

  /** The query's vector, embedded as the index's vectors are (its description, and its task type when known). */
  private async embedOne(embedder: TextEmbedder, index: VectorIndex, text: string, taskType?: string): Promise<Float32Array> {
    const content = queryContent(text, taskType, index.content);
    const key = `${embedder.modelId}\u0000${content}`;
    const hit = this.queryVectors.get(key);
    if (hit) return hit;
    const v = (await embedder.embed([content])).vectors[0]!;
    this.queryVectors.set(key, v);
    return v;
  }

  /** The lexical half of a search, and a note saying which ranking was used. */
  private ranking(index: VectorIndex, text: string, weight: number | undefined) {
    const w = weight ?? this.lexicalWeight;
    const exact = index.describe();
    if (w === 0) return { note: `ranked by cosine, ${exact}` };
    if (!index.lexical) return { note: `ranked by cosine (lexical_weight ${w} asked, but this index keeps no lexical index), ${exact}` };
    return {
      lexical: { text, weight: w },
      note: `ranked by score = ${round4(1 - w)}·cosine + ${w}·BM25/BM25(text as a description) (BM25 over task descriptions); similarity is the cosine, and thresholds apply to it; ${exact}`,
    };
  }

  private async similar(p: QueryParams<'similar'>, now: Date, explain: boolean) {
    const { index, embedder } = this.vectorsOrFail();
    const { lexical, note } = this.ranking(index, p.text, p.lexical_weight);
    const query = await this.embedOne(embedder, index, p.text);
    const filters = { repo: p.repo, sinceMs: now.getTime() - p.days * DAY_MS };
    const hits = index.search(query, { ...filters, limit: p.limit, threshold: p.threshold, lexical });
    const rows = await this.fetchExecutions(hits, explain, p.include_archive ? executionsSource(this.archiveDir) : 'executions');
    const notes = [note];
    let answer: Record<string, unknown> | undefined;
    if (rows.rows.length === 0) {
      // Say why the answer is empty: nothing under the filters, or nothing as similar as the threshold.
      const best = index.search(query, { ...filters, limit: 1 })[0];
      answer = { matched: 0, threshold: p.threshold, best_similarity: best ? round4(best.similarity) : null, best_task_id: best?.task_id ?? null };
      notes.push(
        best
          ? `no execution reaches similarity ${p.threshold}; the most similar found has ${round4(best.similarity)} (task ${best.task_id}): lower --threshold to see it`
          : `no execution with a vector matches the filters (repo ${p.repo ?? 'any'}, last ${p.days} days)`,
      );
    }
    return { rows: rows.rows, explain: rows.explain, notes, answer };
  }

  private async fetchExecutions(hits: VectorHit[], explain: boolean, source = 'executions') {
    if (hits.length === 0) return { rows: [] as Record<string, unknown>[] };
    const ids = hits.map((h) => h.task_id);
    if (!ids.every((id) => /^[0-9a-f-]{36}$/.test(id))) throw new Error('corrupt task id in the vector index');
    const got = await this.read(
      {
        text: `SELECT task_id::VARCHAR AS task_id, timestamp, task_type, repo, model_tier, pool_type, success, duration_seconds, quality_score
          FROM ${source} AS e WHERE task_id IN (${ids.map((id) => `'${id}'`).join(', ')})`,
        values: [],
      },
      explain,
    );
    const byId = new Map(got.rows.map((r) => [String(r.task_id), r]));
    return {
      rows: hits.flatMap((h) => {
        const r = byId.get(h.task_id);
        if (!r) return [];
        const row: Record<string, unknown> = { ...r, similarity: round4(h.similarity) };
        if (h.score !== undefined) row.score = round4(h.score);
        return [row];
      }),
      explain: got.explain,
    };
  }

  private async recommend(p: QueryParams<'recommend'>, now: Date) {
    const { index, embedder } = this.vectorsOrFail();
    const { lexical, note } = this.ranking(index, p.text, p.lexical_weight);
    const hits = index.search(await this.embedOne(embedder, index, p.text, p.task_type), {
      limit: p.k ?? (p.strategy === 'legacy' ? LEGACY_K : ROUTER_K),
      entries: p.tasks ?? (p.strategy === 'legacy' ? undefined : ROUTER_TASKS),
      repo: p.repo,
      threshold: p.min_similarity,
      lexical,
    });
    const notes: string[] = [`similar executions ${note}`];
    if (p.strategy === 'legacy') return legacyRecommend(p, hits, (t) => this.typeHistory(t, p.repo, now), notes);
    return this.router.recommend(p, hits, now, notes);
  }

  private async typeHistory(taskType: string, repo: string | undefined, now: Date): Promise<TierEvidence[]> {
    const values: DuckDBValue[] = [];
    const filter = this.tierFilter({ task_type: taskType, repo, days: 90 }, now, values);
    const r = await this.read(
      {
        text: `SELECT model_tier, sum(total_executions)::BIGINT AS n, sum(successful_count)::BIGINT AS s, sum(sum_quality) AS q, sum(quality_count)::BIGINT AS qn, sum(sum_cost) AS c
          FROM ${this.summary('tier_performance_mv')} ${filter} GROUP BY model_tier`,
        values,
      },
      false,
    );
    return r.rows.map((x) => {
      const n = Number(x.n);
      return {
        model_tier: String(x.model_tier),
        evidence: n,
        success_rate: Number(x.s) / n,
        success_interval: wilson(Number(x.s), n),
        avg_quality: Number(x.qn) > 0 ? Number(x.q) / Number(x.qn) : null,
        avg_cost: Number(x.c) / n,
      };
    });
  }

  private async sql(p: QueryParams<'sql'>, explain: boolean) {
    const o = { archiveDir: this.archiveDir, maxResultBytes: this.maxResultBytes, explain };
    if (this.sqlProcess?.available()) {
      const release = await this.sqlLane.acquire(performance.now() + this.pool.timeoutMs, 'a SQL lane');
      try {
        const r = await this.sqlProcess.run(p, explain);
        const age = Math.max(0, Math.round((Date.now() - r.snapshotAt.getTime()) / 1000));
        return { rows: r.rows, explain: r.explain, notes: [...r.notes, `read from the snapshot of ${r.snapshotAt.toISOString()} (${age} s old): rows stored since then are not in it`] };
      } finally {
        release();
      }
    }
    return this.pool.use((conn, deadline) => runCallerSql(conn, deadline, p, o), { lane: this.sqlLane });
  }
}

async function explainAnalyze(conn: DuckDBConnection, sql: Sql): Promise<string> {
  const r = await conn.runAndReadAll(`EXPLAIN ANALYZE ${sql.text}`, sql.values);
  return r.getRows().map((row) => String(row[row.length - 1])).join('\n');
}
