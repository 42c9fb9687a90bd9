// The parameters of every query: one zod schema each, shared by the HTTP API (query strings),
// the CLI (flags) and code. Strings are coerced, so "?days=7" and `--days 7` both work.
import { z } from 'zod';
import { boolish } from '../config/config.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const text = z.string().trim().min(1, 'must not be empty');
const optionalText = z.string().trim().min(1).optional();
/** Ranking: score = (1 − w)·cosine + w·BM25/BM25(the text against itself); 0 is cosine alone. Default: the library's. */
const lexicalWeight = num(0, 1).optional();
const flag = boolish.default(false);
/** similar's default threshold, chosen by cross-validation on the dev set (docs/hybrid-ranking.md). */
export const SIMILAR_THRESHOLD = 0.44;

/** How recommend decides (docs/routing.md); eval-routing replays with the same. */
const DECISION = {
  quality_target: num(0, 100).default(80),
  success_target: num(0, 1).default(0.8),
  /**
   * Similar executions searched (default: bayes 500, legacy 50). Large for bayes so that the kernel
   * and min_similarity decide what is evidence, not a count that cuts a task's own history short.
   */
  k: int(5, 1000).optional(),
  /**
   * Distinct similar tasks (texts) searched (default: bayes 64; legacy: no cap), each with all its
   * executions up to k. The search's cost follows this, not the executions, so a task that repeats
   * keeps its history and one that does not costs 64 entries, not 500.
   */
  tasks: int(1, 1000).optional(),
  /** Past executions less similar than this are not evidence. */
  min_similarity: num(-1, 1).default(0.5),
  /** Executions (similar ones: their kernel weight) a level needs to be named the basis; legacy: per tier. */
  min_evidence: int(1, 1000).default(5),
  /** Least posterior probability of meeting both targets for a tier to count as meeting them. */
  confidence: num(0.01, 0.999).default(0.7),
  /** κ: pseudo-executions a parent level's rate is worth at the next (global → repo → task type → similar). */
  prior_strength: num(0.01, 10_000).default(4),
  /** An execution's weight halves every this many days. */
  half_life_days: num(0.01, 36500).default(30),
  /** Kernel over the cosine: a similar execution weighs exp(−(best cosine − its cosine)/kernel_width). */
  kernel_width: num(0.001, 10).default(0.05),
  /** Days of summary history behind the prior. */
  history_days: int(1, 36500).default(365),
};

/** The dashboard's windows are 7, 30 and 90 days; any whole number up to a year is accepted. */
const lastDays = (d: number) => int(1, 366).default(d);

/** The dashboard's queries (src/query/series.ts): per-day series and window totals from the summary tables. */
export const SERIES_PARAMS = {
  /** Per UTC day and model tier: counts, success rate with its interval, cost, quality, p95 duration. */
  'tiers-daily': z.strictObject({ task_type: optionalText, repo: optionalText, days: lastDays(30) }),
  /** Per UTC day and tier (or task type): signed and absolute cost-estimate error. */
  'cost-error-daily': z.strictObject({ by: z.enum(['tier', 'task_type']).default('tier'), task_type: optionalText, repo: optionalText, days: lastDays(30) }),
  /** Per pool over the window: success (with its interval), duration, cost. */
  'pools-summary': z.strictObject({ repo: optionalText, days: lastDays(30) }),
  /** Per UTC day a piece of feedback was given: ratings and acceptance. */
  'feedback-daily': z.strictObject({ days: lastDays(30) }),
  /** The task types, repositories and tiers with executions in the window (for filters), and whether there are any at all. */
  facets: z.strictObject({ days: lastDays(90) }),
  /** What the store knows of its own health: ingest per hour, rejections by reason, archive runs. */
  health: z.strictObject({ hours: int(1, 24 * 90).default(48) }),
} as const;

export const QUERY_PARAMS = {
  similar: z.strictObject({
    text,
    repo: optionalText,
    days: int(1, 36500).default(90),
    limit: int(1, 1000).default(10),
    /** On the cosine; the default keeps 98% of the paraphrases that no threshold finds on the dev set (docs/hybrid-ranking.md). */
    threshold: num(-1, 1).default(SIMILAR_THRESHOLD),
    /** Also return archived executions the index still holds. */
    include_archive: flag,
    lexical_weight: lexicalWeight,
  }),
  tiers: z.strictObject({
    task_type: optionalText,
    repo: optionalText,
    days: int(1, 36500).default(30),
  }),
  patterns: z.strictObject({
    repo: optionalText,
    min_usage: int(1, 1_000_000).default(10),
    limit: int(1, 1000).default(10),
  }),
  pools: z.strictObject({
    repo: optionalText,
    days: int(1, 36500).default(7),
  }),
  'cost-error': z.strictObject({
    by: z.enum(['tier', 'task_type']).default('tier'),
    days: int(1, 36500).default(90),
  }),
  recommend: z.strictObject({
    text,
    repo: optionalText,
    task_type: optionalText,
    ...DECISION,
    lexical_weight: lexicalWeight,
    /** explore: Thompson-sample at most explore_share of calls (default: the server's setting). */
    mode: z.enum(['exploit', 'explore']).optional(),
    explore_share: num(0, 1).optional(),
    /** λ: an exploring call's probability mass on Thompson sampling over the tiers no costlier than the greedy one. */
    explore_weight: num(0, 1).default(0.5),
    /** Exploration never picks a tier whose posterior mean success is below this. */
    explore_floor: num(0, 1).default(0.5),
    /** Seed of this call's sampling (reproducible exploration). */
    seed: int(0, 2 ** 31 - 1).optional(),
    /** bayes (default) or legacy: the raw-rate recommend of before, for comparison. */
    strategy: z.enum(['bayes', 'legacy']).default('bayes'),
  }),
  /** Replays the history in time order: what recommend would have picked, and what that was worth. */
  'eval-routing': z.strictObject({
    repo: optionalText,
    ...DECISION,
    /** Executions of the last this many days are scored; older ones are history only. */
    days: int(1, 36500).default(90),
    /** At most this many executions are scored (the latest); the rest are history only. */
    max_executions: int(1, 10_000_000).default(20_000),
  }),
  /** Spans that failed validation, newest first, with the reason each was refused. */
  rejected: z.strictObject({
    service: optionalText,
    days: int(1, 36500).default(7),
    limit: int(1, 1000).default(20),
  }),
  sql: z.strictObject({
    query: text,
    max_rows: int(1, 100_000).default(1000),
    /** Adds the views all_executions and all_feedback: the hot tables plus the Parquet archive. */
    include_archive: flag,
  }),
  ...SERIES_PARAMS,
} as const;

export type QueryName = keyof typeof QUERY_PARAMS;
export const QUERY_NAMES = Object.keys(QUERY_PARAMS) as QueryName[];
export type QueryParams<N extends QueryName> = z.output<(typeof QUERY_PARAMS)[N]>;

export function isQueryName(s: string): s is QueryName {
  return Object.prototype.hasOwnProperty.call(QUERY_PARAMS, s);
}
