// The dashboard's questions (issue 12): per-day series and window totals, read from the summary
// tables, never from executions. New query names beside the library's own, same conventions:
// a zod schema each (SERIES_PARAMS, merged into QUERY_PARAMS) and SQL with bound values.
import type { DuckDBValue } from '@duckdb/node-api';
import { bucketValue } from '../store/summaries.js';
import { SERIES_PARAMS, type QueryParams } from './params.js';

export type SeriesName = keyof typeof SERIES_PARAMS;
type SeriesParams<N extends SeriesName> = QueryParams<N>;

export type Sql = { text: string; values: DuckDBValue[] };
export type Reader = (sql: Sql) => Promise<Record<string, unknown>[]>;
export type Filter = (conds: [string, DuckDBValue | undefined][], values: DuckDBValue[]) => string;

export interface SeriesContext {
  read: Reader;
  where: Filter;
  /** The first UTC day of a window of `days` whole days, today included (YYYY-MM-DD). */
  firstDay(days: number): string;
  now: Date;
  wilson(successes: number, n: number): [number, number];
}

export function isSeriesName(s: string): s is SeriesName {
  return Object.prototype.hasOwnProperty.call(SERIES_PARAMS, s);
}

const DAY_NOTE = 'days count whole UTC days, today included';

function dailyFilter(c: SeriesContext, p: { task_type?: string; repo?: string; days: number }, values: DuckDBValue[]): string {
  return c.where([['date >= ?::DATE', c.firstDay(p.days)], ['task_type = ?', p.task_type], ['repo = ?', p.repo]], values);
}

const day = (v: unknown) => (typeof v === 'string' ? v.slice(0, 10) : v);

async function tiersDaily(c: SeriesContext, p: SeriesParams<'tiers-daily'>) {
  const values: DuckDBValue[] = [];
  const filter = dailyFilter(c, p, values);
  const [sums, sketch] = await Promise.all([
    c.read({
      text: `SELECT date, model_tier, sum(total_executions)::BIGINT AS total, sum(successful_count)::BIGINT AS successful,
          sum(successful_count) / sum(total_executions) AS success_rate,
          sum(sum_cost) / sum(total_executions) AS avg_cost,
          sum(sum_quality) / nullif(sum(quality_count), 0) AS avg_quality,
          sum(sum_duration) / sum(total_executions) AS avg_duration
        FROM tier_performance_mv ${filter} GROUP BY date, model_tier ORDER BY date, model_tier`,
      values,
    }),
    // The nearest-rank p95 bucket of each day's sketch, found in SQL: a day × tier × bucket table
    // is large at 1M executions and costs more to hand to JavaScript than to rank here.
    c.read({
      text: `WITH b AS (SELECT date, model_tier, bucket, sum(count) AS n FROM tier_duration_sketch ${filter} GROUP BY date, model_tier, bucket),
          r AS (SELECT date, model_tier, bucket, sum(n) OVER (PARTITION BY date, model_tier ORDER BY bucket) AS seen,
                  sum(n) OVER (PARTITION BY date, model_tier) AS total FROM b)
        SELECT date, model_tier, min(bucket) AS bucket FROM r WHERE seen >= greatest(1, ceil(0.95 * total)) GROUP BY date, model_tier`,
      values,
    }),
  ]);
  const p95 = new Map(sketch.map((r) => [`${day(r.date)}|${r.model_tier}`, bucketValue(Number(r.bucket))]));
  const rows = sums.map((r) => {
    const [low, high] = c.wilson(Number(r.successful), Number(r.total));
    return { ...r, date: day(r.date), success_low: low, success_high: high, p95_duration: p95.get(`${day(r.date)}|${r.model_tier}`) ?? null };
  });
  return { rows, notes: [`${DAY_NOTE}; success_low/high: 95% Wilson interval; p95_duration from the log-bucket sketch (±1%)`] };
}

async function costErrorDaily(c: SeriesContext, p: SeriesParams<'cost-error-daily'>) {
  const values: DuckDBValue[] = [];
  const filter = dailyFilter(c, p, values);
  const col = p.by === 'tier' ? 'model_tier' : 'task_type';
  const rows = await c.read({
    text: `SELECT date, ${col} AS ${p.by}, sum(total_executions)::BIGINT AS executions,
        sum(sum_cost_estimate) / sum(total_executions) AS avg_estimate, sum(sum_cost) / sum(total_executions) AS avg_actual,
        (sum(sum_cost) - sum(sum_cost_estimate)) / sum(total_executions) AS mean_error,
        sum(sum_abs_cost_error) / sum(total_executions) AS mean_abs_error,
        100 * sum(sum_abs_cost_error) / nullif(sum(sum_cost_estimate), 0) AS abs_error_pct
      FROM tier_performance_mv ${filter} GROUP BY date, ${col} ORDER BY date, ${col}`,
    values,
  });
  return { rows: rows.map((r) => ({ ...r, date: day(r.date) })), notes: [`${DAY_NOTE}; mean_error = mean(actual − estimate): positive means estimates run low`] };
}

async function poolsSummary(c: SeriesContext, p: SeriesParams<'pools-summary'>) {
  const values: DuckDBValue[] = [];
  // pool_performance_mv is hourly; the window starts at midnight UTC of its first day, like the daily ones.
  const filter = c.where([['hour >= ?::TIMESTAMP', c.firstDay(p.days)], ['repo = ?', p.repo]], values);
  const rows = await c.read({
    text: `SELECT pool_type, sum(total_tasks)::BIGINT AS total_tasks, sum(successful_tasks)::BIGINT AS successful_tasks,
        sum(successful_tasks) / sum(total_tasks) AS success_rate, sum(sum_duration) / sum(total_tasks) AS avg_duration,
        sum(sum_cost) / sum(total_tasks) AS avg_cost
      FROM pool_performance_mv ${filter} GROUP BY pool_type ORDER BY total_tasks DESC, pool_type`,
    values,
  });
  return {
    rows: rows.map((r) => {
      const [low, high] = c.wilson(Number(r.successful_tasks), Number(r.total_tasks));
      return { ...r, success_low: low, success_high: high };
    }),
    notes: [`${DAY_NOTE}; success_low/high: 95% Wilson interval`],
  };
}

async function feedbackDaily(c: SeriesContext, p: SeriesParams<'feedback-daily'>) {
  // No summary table holds feedback by day: the rows of the window are read from feedback, which
  // lands in time order, so zone maps skip older row groups (docs/dashboard.md). Feedback counts
  // on the day it was given, however late after its execution.
  const rows = await c.read({
    text: `SELECT timestamp::DATE AS date, count(*)::BIGINT AS feedback, count(rating)::BIGINT AS ratings, avg(rating) AS avg_rating,
        count(accepted)::BIGINT AS judged, count(*) FILTER (WHERE accepted)::BIGINT AS accepted,
        count(*) FILTER (WHERE accepted) / nullif(count(accepted), 0) AS acceptance_rate
      FROM feedback WHERE timestamp >= $1::TIMESTAMP GROUP BY 1 ORDER BY 1`,
    values: [c.firstDay(p.days)],
  });
  return {
    rows: rows.map((r) => {
      const [low, high] = Number(r.judged) > 0 ? c.wilson(Number(r.accepted), Number(r.judged)) : [null, null];
      return { ...r, date: day(r.date), acceptance_low: low, acceptance_high: high };
    }),
    notes: [`${DAY_NOTE}; feedback counts on the day it was given (late feedback where it landed), not on its execution's day`],
  };
}

async function facets(c: SeriesContext, p: SeriesParams<'facets'>) {
  const values: DuckDBValue[] = [];
  const filter = dailyFilter(c, p, values);
  const [rows, all] = await Promise.all([
    c.read({
      text: `SELECT 'task_type' AS facet, task_type AS value, sum(total_executions)::BIGINT AS executions FROM tier_performance_mv ${filter} GROUP BY task_type
        UNION ALL SELECT 'repo', repo, sum(total_executions)::BIGINT FROM tier_performance_mv ${filter} GROUP BY repo
        UNION ALL SELECT 'model_tier', model_tier, sum(total_executions)::BIGINT FROM tier_performance_mv ${filter} GROUP BY model_tier
        ORDER BY facet, executions DESC, value`,
      values,
    }),
    // Ever, archived included (summaries keep counting archived executions): tells "empty" from "quiet window".
    c.read({ text: 'SELECT coalesce(sum(total_executions), 0)::BIGINT AS n, max(date) AS last_day FROM tier_performance_mv', values: [] }),
  ]);
  return { rows, answer: { executions_ever: Number(all[0]?.n ?? 0), last_day: day(all[0]?.last_day ?? null) }, notes: [DAY_NOTE] };
}

async function health(c: SeriesContext, p: SeriesParams<'health'>) {
  const since = new Date(Math.floor(c.now.getTime() / 3_600_000) * 3_600_000 - (p.hours - 1) * 3_600_000).toISOString();
  const [hourly, rejected, archive, hot] = await Promise.all([
    c.read({ text: `SELECT hour, sum(total_tasks)::BIGINT AS executions FROM pool_performance_mv WHERE hour >= $1::TIMESTAMP GROUP BY hour ORDER BY hour`, values: [since] }),
    // A reason names its attribute first ("execution.x: must be …; …"): group on that.
    c.read({
      text: `SELECT split_part(reason, ':', 1) AS reason, count(*)::BIGINT AS spans, max(received_at) AS last_seen, any_value(reason) AS example
        FROM rejected_spans WHERE received_at >= $1::TIMESTAMP GROUP BY 1 ORDER BY spans DESC, reason LIMIT 20`,
      values: [since],
    }),
    c.read({
      text: `SELECT run_id::VARCHAR AS run_id, operation, status, started_at, finished_at, cutoff, executions_archived, feedback_archived, embeddings_archived, bytes, error
        FROM maintenance_log ORDER BY started_at DESC LIMIT 10`,
      values: [],
    }),
    // A bare count is answered from the table's row-group counts, not a scan of its columns.
    c.read({ text: 'SELECT count(*)::BIGINT AS n FROM executions', values: [] }),
  ]);
  return {
    rows: hourly,
    answer: { hot_executions: Number(hot[0]?.n ?? 0), rejected_by_reason: rejected, archive_runs: archive },
    notes: [`rows: executions per hour of their start time over the last ${p.hours} hours (pool_performance_mv); rejections by the attribute their reason names first`],
  };
}

/** Runs a series query; the library validated its parameters. */
export function runSeries(name: SeriesName, p: Record<string, unknown>, c: SeriesContext): Promise<{ rows: Record<string, unknown>[]; answer?: Record<string, unknown>; notes: string[] }> {
  switch (name) {
    case 'tiers-daily':
      return tiersDaily(c, p as SeriesParams<'tiers-daily'>);
    case 'cost-error-daily':
      return costErrorDaily(c, p as SeriesParams<'cost-error-daily'>);
    case 'pools-summary':
      return poolsSummary(c, p as SeriesParams<'pools-summary'>);
    case 'feedback-daily':
      return feedbackDaily(c, p as SeriesParams<'feedback-daily'>);
    case 'facets':
      return facets(c, p as SeriesParams<'facets'>);
    case 'health':
      return health(c, p as SeriesParams<'health'>);
  }
}
