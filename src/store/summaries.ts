// Pure builders of the summary-table deltas for a set of newly inserted executions, and the
// upsert that merges each into its table. The sketch maths lives here too, with its bound.
import type { ExecutionRow } from '../convert/record.js';
import { uuidV5 } from '../convert/task-id.js';
import type { Cell } from './rows.js';

/** Summaries equal after this are one solution pattern. */
export function normalizeSolution(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

export const patternId = (summary: string) => uuidV5(`solution/${normalizeSolution(summary)}`);

// A SHA-1 and a regex per execution cost more than the rest of its summary: solutions repeat, so memoize.
const patternMemo = new Map<string, string | null>();
/** The pattern of a summary, or null when it normalizes to nothing. */
function patternOf(summary: string): string | null {
  let id = patternMemo.get(summary);
  if (id === undefined) {
    if (patternMemo.size >= 50_000) patternMemo.clear();
    id = normalizeSolution(summary) ? patternId(summary) : null;
    patternMemo.set(summary, id);
  }
  return id;
}

export const SKETCH_GAMMA = 1.02;
const LN_GAMMA = Math.log(SKETCH_GAMMA);
export const ZERO_BUCKET = -32768;

export function sketchBucket(duration: number): number {
  // Clamped to the SMALLINT column: beyond ±32767 buckets (durations past 1e281 s) the sketch saturates.
  return duration <= 1e-6 ? ZERO_BUCKET : Math.min(32767, Math.max(-32767, Math.ceil(Math.log(duration) / LN_GAMMA)));
}

/** A value for the bucket: within ±(γ−1)/(γ+1) ≈ 1% of every duration in it. */
export function bucketValue(bucket: number): number {
  return bucket === ZERO_BUCKET ? 0 : (2 * Math.pow(SKETCH_GAMMA, bucket)) / (SKETCH_GAMMA + 1);
}

/** Nearest-rank quantile from (bucket, count) pairs. */
export function sketchQuantile(pairs: readonly { bucket: number; count: number }[], q: number): number | null {
  const total = pairs.reduce((n, p) => n + p.count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const p of [...pairs].sort((a, b) => a.bucket - b.bucket)) {
    seen += p.count;
    if (seen >= rank) return bucketValue(p.bucket);
  }
  return bucketValue(pairs[pairs.length - 1]!.bucket);
}

/** How a column of a summary row combines with the same column of another row for the same key. */
export type Combine =
  | 'key'
  | 'sum'
  | 'min'
  | 'max'
  /** Sorted distinct union of two string lists. */
  | 'union'
  /** The value already held wins. */
  | 'keep'
  /** numerator / denominator, both 'sum' columns of the same row, recomputed after they combine. */
  | { ratio: [string, string] };

export interface SummaryColumn {
  name: string;
  combine: Combine;
  /** Holds a Date (so a journalled delta turns back into one). */
  time?: boolean;
}

export interface SummaryTable {
  table: string;
  columns: readonly SummaryColumn[];
}

export interface SummaryDelta {
  table: string;
  keys: readonly string[];
  columns: readonly string[];
  rows: Cell[][];
  /** SET clauses for ON CONFLICT DO UPDATE, merging the delta (excluded) into the stored row. */
  merge: string;
}

const col = (name: string, combine: Combine, time = false): SummaryColumn => ({ name, combine, time });
const sums = (...names: string[]) => names.map((n) => col(n, 'sum'));

/** Each summary table and how its rows combine: the one definition behind the SQL merge and the in-memory one. */
export const SUMMARY_TABLES: readonly SummaryTable[] = [
  {
    table: 'tier_performance_mv',
    columns: [
      ...['repo', 'model_tier', 'task_type'].map((n) => col(n, 'key')),
      col('date', 'key', true),
      ...sums('total_executions', 'successful_count', 'sum_duration', 'sum_cost', 'sum_cost_estimate', 'sum_abs_cost_error', 'sum_quality', 'quality_count', 'estimate_count', 'sum_cost_with_estimate'),
    ],
  },
  {
    table: 'tier_duration_sketch',
    columns: [...['repo', 'model_tier', 'task_type'].map((n) => col(n, 'key')), col('date', 'key', true), col('bucket', 'key'), col('count', 'sum')],
  },
  {
    table: 'pool_performance_mv',
    columns: [col('pool_type', 'key'), col('repo', 'key'), col('hour', 'key', true), ...sums('total_tasks', 'successful_tasks', 'sum_duration', 'sum_cost')],
  },
  {
    // The solution library: one row per pattern across repos (review §1.1's solutions table).
    table: 'solutions',
    columns: [
      col('pattern_id', 'key'),
      col('extracted_at', 'min', true),
      col('task_context', 'keep'),
      col('solution_summary', 'keep'),
      col('success_rate', { ratio: ['success_count', 'usage_count'] }),
      ...sums('usage_count', 'success_count', 'sum_quality', 'quality_count'),
      col('repos_used_in', 'union'),
      col('task_types', 'union'),
      col('last_used', 'max', true),
    ],
  },
  {
    table: 'solution_patterns_mv',
    columns: [
      col('solution_summary', 'key'),
      col('repo', 'key'),
      col('task_types', 'union'),
      ...sums('usage_count', 'success_count', 'sum_quality', 'quality_count'),
      col('first_seen', 'min', true),
      col('last_seen', 'max', true),
    ],
  },
];

function setClause(c: SummaryColumn): string | null {
  const n = c.name;
  const x = `excluded.${n}`;
  const k = c.combine;
  if (k === 'key' || k === 'keep') return null;
  if (k === 'sum') return `${n} = ${n} + ${x}`;
  if (k === 'min') return `${n} = least(${n}, ${x})`;
  if (k === 'max') return `${n} = greatest(${n}, ${x})`;
  if (k === 'union') return `${n} = list_sort(list_distinct(list_concat(${n}, ${x})))`;
  // SET expressions all read the stored row, so the ratio adds the delta's parts itself.
  const [a, b] = k.ratio;
  return `${n} = (${a} + excluded.${a}) / (${b} + excluded.${b})`;
}

/** SET clauses for ON CONFLICT DO UPDATE, merging `excluded` into the stored row. */
export function mergeClause(t: SummaryTable): string {
  return t.columns.map(setClause).filter((x) => x !== null).join(', ');
}

const unionOf = (a: string[], b: string[]) => [...new Set([...a, ...b])].sort();

/**
 * Summary rows keyed and combined in memory: many commits' worth of deltas become one row per
 * key, so the tables are merged rarely and in bulk.
 */
export class SummaryAccumulator {
  private readonly tables = SUMMARY_TABLES.map((t) => ({
    spec: t,
    keyIdx: t.columns.flatMap((c, i) => (c.combine === 'key' ? [i] : [])),
    ratios: t.columns.flatMap((c, i) => (typeof c.combine === 'object' ? [[i, t.columns.findIndex((x) => x.name === (c.combine as { ratio: string[] }).ratio[0]), t.columns.findIndex((x) => x.name === (c.combine as { ratio: string[] }).ratio[1])]] : [])),
    rows: new Map<string, Cell[]>(),
  }));

  /** Rows held, over all tables. */
  get size(): number {
    return this.tables.reduce((n, t) => n + t.rows.size, 0);
  }

  /** Combines a row of `SUMMARY_TABLES[table]` into what is held. */
  add(table: number, row: Cell[]): void {
    const t = this.tables[table]!;
    const key = t.keyIdx.map((i) => { const v = row[i]; return v instanceof Date ? v.getTime() : v; }).join('\u001f');
    const held = t.rows.get(key);
    if (!held) {
      t.rows.set(key, row);
      return;
    }
    const cols = t.spec.columns;
    for (let i = 0; i < cols.length; i++) {
      const k = cols[i]!.combine;
      if (k === 'sum') held[i] = (held[i] as number) + (row[i] as number);
      else if (k === 'min') held[i] = (row[i] as Date) < (held[i] as Date) ? row[i]! : held[i]!;
      else if (k === 'max') held[i] = (row[i] as Date) > (held[i] as Date) ? row[i]! : held[i]!;
      else if (k === 'union') {
        const add = row[i] as string[];
        // Usually one value that is already there.
        if (add.length !== 1 || !(held[i] as string[]).includes(add[0]!)) held[i] = unionOf(held[i] as string[], add);
      }
    }
    for (const [i, a, b] of t.ratios) held[i!] = (held[a!] as number) / (held[b!] as number);
  }

  merge(other: SummaryAccumulator): void {
    other.tables.forEach((t, i) => {
      for (const r of t.rows.values()) this.add(i, [...r]);
    });
  }

  /** The held rows as upserts, one per table that has any. */
  deltas(): SummaryDelta[] {
    return this.tables
      .filter((t) => t.rows.size > 0)
      .map((t) => ({
        table: t.spec.table,
        keys: t.keyIdx.map((i) => t.spec.columns[i]!.name),
        columns: t.spec.columns.map((c) => c.name),
        rows: [...t.rows.values()],
        merge: mergeClause(t.spec),
      }));
  }

  /** A JSON form for the journal (Dates as ISO strings, turned back by fromJSON). */
  toJSON(): Record<string, Cell[][]> {
    return Object.fromEntries(this.tables.filter((t) => t.rows.size > 0).map((t) => [t.spec.table, [...t.rows.values()]]));
  }

  /** JSON for the journal; sums that overflowed to ±Infinity (or NaN) survive as strings. */
  serialize(): string {
    return JSON.stringify(this.toJSON(), (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
  }

  static fromJSON(json: Record<string, unknown[][]>): SummaryAccumulator {
    const acc = new SummaryAccumulator();
    acc.tables.forEach((t, i) => {
      for (const r of json[t.spec.table] ?? [])
        acc.add(
          i,
          r.map((v, c) => {
            const col = t.spec.columns[c]!;
            if (col.time && typeof v === 'string') return new Date(v);
            if ((col.combine === 'sum' || typeof col.combine === 'object') && typeof v === 'string') return Number(v);
            return v as Cell;
          }),
        );
    });
    return acc;
  }
}

const day = (d: Date) => Math.floor(d.getTime() / 86_400_000) * 86_400_000;
const hour = (d: Date) => Math.floor(d.getTime() / 3_600_000) * 3_600_000;

/** Where a solution pattern now counts: itself, or the pattern it was merged into. */
export type PatternResolver = (patternId: string) => string;

/** What each execution adds to each summary table, in SUMMARY_TABLES order. */
function contributions(r: ExecutionRow, resolve: PatternResolver): (Cell[] | null)[] {
  const ok = r.success ? 1 : 0;
  const hasQ = r.quality_score !== null;
  const q = r.quality_score ?? 0;
  const date = new Date(day(r.timestamp));
  const own = r.solution_summary ? patternOf(r.solution_summary) : null;
  const pattern = own && resolve(own);
  return [
    // Cost error only over rows that carry an estimate (estimate_count of them).
    [r.repo, r.model_tier, r.task_type, date, 1, ok, r.duration_seconds, r.actual_cost, r.cost_estimate ?? 0, r.cost_estimate === null ? 0 : Math.abs(r.actual_cost - r.cost_estimate), q, hasQ ? 1 : 0, r.cost_estimate === null ? 0 : 1, r.cost_estimate === null ? 0 : r.actual_cost],
    [r.repo, r.model_tier, r.task_type, date, sketchBucket(r.duration_seconds), 1],
    [r.pool_type, r.repo, new Date(hour(r.timestamp)), 1, ok, r.duration_seconds, r.actual_cost],
    pattern ? [pattern, r.timestamp, r.task_description, r.solution_summary, ok, 1, ok, q, hasQ ? 1 : 0, [r.repo], [r.task_type], r.timestamp] : null,
    r.solution_summary ? [r.solution_summary, r.repo, [r.task_type], 1, ok, q, hasQ ? 1 : 0, r.timestamp, r.timestamp] : null,
  ];
}

/** Adds newly inserted executions to an accumulator (a fresh one if none is given). */
export function summarize(rows: readonly ExecutionRow[], into = new SummaryAccumulator(), resolve: PatternResolver = (id) => id): SummaryAccumulator {
  for (const r of rows) contributions(r, resolve).forEach((c, i) => c && into.add(i, c));
  return into;
}

/** The tables whose rows depend on tier, pool or cost (what a late GenAI call can change). */
const REVISABLE = new Set(['tier_performance_mv', 'tier_duration_sketch', 'pool_performance_mv']);

/**
 * What changing stored executions from `old` to `next` does to the summaries: the old rows'
 * contributions taken out, the new ones put in (sums only; the solution tables do not depend on
 * what a revision changes). Rows whose counts reach 0 are removed when the journal merges.
 */
export function summarizeRevisions(revisions: readonly { old: ExecutionRow; next: ExecutionRow }[], into = new SummaryAccumulator(), resolve: PatternResolver = (id) => id): SummaryAccumulator {
  for (const { old, next } of revisions) {
    contributions(old, resolve).forEach((c, i) => {
      const t = SUMMARY_TABLES[i]!;
      if (c && REVISABLE.has(t.table)) into.add(i, c.map((v, j) => (t.columns[j]!.combine === 'sum' ? -(v as number) : v)));
    });
    contributions(next, resolve).forEach((c, i) => c && REVISABLE.has(SUMMARY_TABLES[i]!.table) && into.add(i, c));
  }
  return into;
}

/** Statements that drop summary rows a revision emptied. */
export const EMPTIED_SUMMARY_ROWS = [
  'DELETE FROM tier_performance_mv WHERE total_executions = 0',
  'DELETE FROM tier_duration_sketch WHERE count = 0',
  'DELETE FROM pool_performance_mv WHERE total_tasks = 0',
];

/** The upserts for a set of newly inserted executions. */
export function summaryDeltas(rows: readonly ExecutionRow[]): SummaryDelta[] {
  return summarize(rows).deltas();
}
