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

export const SKETCH_GAMMA = 1.02;
const LN_GAMMA = Math.log(SKETCH_GAMMA);
export const ZERO_BUCKET = -32768;

export function sketchBucket(duration: number): number {
  return duration <= 1e-6 ? ZERO_BUCKET : Math.ceil(Math.log(duration) / LN_GAMMA);
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

export interface SummaryDelta {
  table: string;
  keys: readonly string[];
  columns: readonly string[];
  rows: Cell[][];
  /** SET clauses for ON CONFLICT DO UPDATE, merging the delta (excluded) into the stored row. */
  merge: string;
}

const day = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
const hour = (d: Date) => new Date(Math.floor(d.getTime() / 3_600_000) * 3_600_000);
const sumOf = (cols: string[]) => cols.map((c) => `${c} = ${c} + excluded.${c}`).join(', ');

function group<T>(rows: readonly ExecutionRow[], key: (r: ExecutionRow) => string | null, init: (r: ExecutionRow) => T, add: (acc: T, r: ExecutionRow) => void): T[] {
  const m = new Map<string, T>();
  for (const r of rows) {
    const k = key(r);
    if (k === null) continue;
    let acc = m.get(k);
    if (!acc) m.set(k, (acc = init(r)));
    add(acc, r);
  }
  return [...m.values()];
}

const TIER_SUMS = ['total_executions', 'successful_count', 'sum_duration', 'sum_cost', 'sum_cost_estimate', 'sum_abs_cost_error', 'sum_quality', 'quality_count'];

/** Each summary table: its key, the columns a delta carries, and how a delta merges in. */
export const SUMMARY_TABLES: readonly Omit<SummaryDelta, 'rows'>[] = [
  {
    table: 'tier_performance_mv',
    keys: ['repo', 'model_tier', 'task_type', 'date'],
    columns: ['repo', 'model_tier', 'task_type', 'date', ...TIER_SUMS],
    merge: sumOf(TIER_SUMS),
  },
  {
    table: 'tier_duration_sketch',
    keys: ['repo', 'model_tier', 'task_type', 'date', 'bucket'],
    columns: ['repo', 'model_tier', 'task_type', 'date', 'bucket', 'count'],
    merge: sumOf(['count']),
  },
  {
    table: 'pool_performance_mv',
    keys: ['pool_type', 'repo', 'hour'],
    columns: ['pool_type', 'repo', 'hour', 'total_tasks', 'successful_tasks', 'sum_duration', 'sum_cost'],
    merge: sumOf(['total_tasks', 'successful_tasks', 'sum_duration', 'sum_cost']),
  },
  {
    // The solution library: one row per pattern across repos (review §1.1's solutions table).
    table: 'solutions',
    keys: ['pattern_id'],
    columns: ['pattern_id', 'extracted_at', 'task_context', 'solution_summary', 'success_rate', 'usage_count', 'success_count', 'sum_quality', 'quality_count', 'repos_used_in', 'task_types', 'last_used'],
    merge: `success_rate = (success_count + excluded.success_count) / (usage_count + excluded.usage_count), ${sumOf(['usage_count', 'success_count', 'sum_quality', 'quality_count'])}, repos_used_in = list_sort(list_distinct(list_concat(repos_used_in, excluded.repos_used_in))), task_types = list_sort(list_distinct(list_concat(task_types, excluded.task_types))), extracted_at = least(extracted_at, excluded.extracted_at), last_used = greatest(last_used, excluded.last_used)`,
  },
  {
    table: 'solution_patterns_mv',
    keys: ['solution_summary', 'repo'],
    columns: ['solution_summary', 'repo', 'task_types', 'usage_count', 'success_count', 'sum_quality', 'quality_count', 'first_seen', 'last_seen'],
    merge: `${sumOf(['usage_count', 'success_count', 'sum_quality', 'quality_count'])}, task_types = list_sort(list_distinct(list_concat(task_types, excluded.task_types))), first_seen = least(first_seen, excluded.first_seen), last_seen = greatest(last_seen, excluded.last_seen)`,
  },
];

export function summaryDeltas(rows: readonly ExecutionRow[]): SummaryDelta[] {
  if (rows.length === 0) return [];
  const tierKey = (r: ExecutionRow) => `${r.repo}\u001f${r.model_tier}\u001f${r.task_type}\u001f${day(r.timestamp).getTime()}`;
  const tiers = group(
    rows,
    tierKey,
    (r) => [r.repo, r.model_tier, r.task_type, day(r.timestamp), 0, 0, 0, 0, 0, 0, 0, 0] as Cell[],
    (a, r) => {
      (a[4] as number)++;
      if (r.success) (a[5] as number)++;
      a[6] = (a[6] as number) + r.duration_seconds;
      a[7] = (a[7] as number) + r.actual_cost;
      a[8] = (a[8] as number) + r.cost_estimate;
      a[9] = (a[9] as number) + Math.abs(r.actual_cost - r.cost_estimate);
      if (r.quality_score !== null) {
        a[10] = (a[10] as number) + r.quality_score;
        (a[11] as number)++;
      }
    },
  );
  const sketch = group(
    rows,
    (r) => `${tierKey(r)}\u001f${sketchBucket(r.duration_seconds)}`,
    (r) => [r.repo, r.model_tier, r.task_type, day(r.timestamp), sketchBucket(r.duration_seconds), 0] as Cell[],
    (a) => {
      (a[5] as number)++;
    },
  );
  const pools = group(
    rows,
    (r) => `${r.pool_type}\u001f${r.repo}\u001f${hour(r.timestamp).getTime()}`,
    (r) => [r.pool_type, r.repo, hour(r.timestamp), 0, 0, 0, 0] as Cell[],
    (a, r) => {
      (a[3] as number)++;
      if (r.success) (a[4] as number)++;
      a[5] = (a[5] as number) + r.duration_seconds;
      a[6] = (a[6] as number) + r.actual_cost;
    },
  );
  const patterns = group(
    rows,
    (r) => (r.solution_summary ? `${r.solution_summary}\u001f${r.repo}` : null),
    (r) => [r.solution_summary, r.repo, [] as string[], 0, 0, 0, 0, r.timestamp, r.timestamp] as unknown as Cell[],
    (a, r) => {
      const types = a[2] as unknown as string[];
      if (!types.includes(r.task_type)) {
        types.push(r.task_type);
        types.sort();
      }
      (a[3] as number)++;
      if (r.success) (a[4] as number)++;
      if (r.quality_score !== null) {
        a[5] = (a[5] as number) + r.quality_score;
        (a[6] as number)++;
      }
      if (r.timestamp < (a[7] as Date)) a[7] = r.timestamp;
      if (r.timestamp > (a[8] as Date)) a[8] = r.timestamp;
    },
  );
  const solutions = group(
    rows,
    (r) => (r.solution_summary && normalizeSolution(r.solution_summary) ? patternId(r.solution_summary) : null),
    (r) => [patternId(r.solution_summary!), r.timestamp, r.task_description, r.solution_summary, 0, 0, 0, 0, 0, [] as string[], [] as string[], r.timestamp] as unknown as Cell[],
    (a, r) => {
      const add = (i: number, v: string) => {
        const xs = a[i] as unknown as string[];
        if (!xs.includes(v)) {
          xs.push(v);
          xs.sort();
        }
      };
      (a[5] as number)++;
      if (r.success) (a[6] as number)++;
      a[4] = (a[6] as number) / (a[5] as number);
      if (r.quality_score !== null) {
        a[7] = (a[7] as number) + r.quality_score;
        (a[8] as number)++;
      }
      add(9, r.repo);
      add(10, r.task_type);
      if (r.timestamp < (a[1] as Date)) {
        a[1] = r.timestamp;
        a[2] = r.task_description;
        a[3] = r.solution_summary;
      }
      if (r.timestamp > (a[11] as Date)) a[11] = r.timestamp;
    },
  );
  const rowsOf: Record<string, Cell[][]> = {
    solutions,
    tier_performance_mv: tiers,
    tier_duration_sketch: sketch,
    pool_performance_mv: pools,
    solution_patterns_mv: patterns,
  };
  return SUMMARY_TABLES.map((t) => ({ ...t, rows: rowsOf[t.table]! }));
}

