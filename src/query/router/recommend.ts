// recommend, served: the similar executions the vector index found, the history levels from the
// daily summary table (cached for a moment: they move slowly), the posterior per tier and the choice.
import { randomUUID } from 'node:crypto';
import type { DuckDBValue } from '@duckdb/node-api';
import type { VectorHit } from '../vector-index.js';
import { decide, DEFAULT_DECIDE, sampler, type Decision, type Sampler } from './decide.js';
import { History } from './history.js';
import { bestSimilarity, credibleInterval, kernel, posteriorMean, posteriors, recency, type Neighbour, type RouterSettings, type TierPosterior } from './posterior.js';

const DAY_MS = 86_400_000;

/** Similar executions searched by default: enough that no count cap truncates one task's history. */
export const ROUTER_K = 500;
/** Distinct similar tasks searched by default, each with its executions (eval routing's neighbour lists are as long). */
export const ROUTER_TASKS = 64;
/** The previous recommend searched 50; `strategy=legacy` keeps it. */
export const LEGACY_K = 50;

/** The parameters recommend takes (params.ts validates them). */
export interface RecommendParams {
  text: string;
  repo?: string;
  task_type?: string;
  quality_target: number;
  success_target: number;
  /** Similar executions searched; absent: ROUTER_K (legacy: LEGACY_K). */
  k?: number;
  /** Distinct similar tasks searched; absent: ROUTER_TASKS (legacy: no cap). */
  tasks?: number;
  min_similarity: number;
  min_evidence: number;
  confidence: number;
  prior_strength: number;
  half_life_days: number;
  kernel_width: number;
  history_days: number;
  mode?: 'exploit' | 'explore';
  explore_share?: number;
  explore_floor: number;
  /** λ, the Thompson share of an exploring call's policy (default 0.5). */
  explore_weight?: number;
  seed?: number;
}

export interface RouterOptions {
  /** Mode of a call that names none (a server setting). Default exploit. */
  mode?: 'exploit' | 'explore';
  /** Share of explore-mode calls that may explore, ε (default 0.1). */
  exploreShare?: number;
  /** How long the history levels are reused, ms (default 1000; 0 reads them every call). */
  historyCacheMs?: number;
}

export type Basis = 'similar_executions' | 'task_type_history' | 'repo_history' | 'global_history' | 'none';

export const BASIS_TEXT: Record<Basis, string> = {
  similar_executions: 'similar executions',
  task_type_history: 'the history of the task type',
  repo_history: 'the history of the repo',
  global_history: 'all history',
  none: 'nothing',
};

type Read = (text: string, values: DuckDBValue[]) => Promise<Record<string, unknown>[]>;

export const settingsOf = (p: RecommendParams): RouterSettings => ({
  priorStrength: p.prior_strength,
  halfLifeDays: p.half_life_days,
  kernelWidth: p.kernel_width,
  minSimilarity: p.min_similarity,
  qualitySd: 15,
});

/** The task type of a request: given, or the kernel-weighted majority of its similar executions. */
export function inferTaskType(given: string | undefined, hits: readonly { task_type: string; similarity: number }[], s: RouterSettings): { taskType: string | null; source: 'given' | 'similar_executions' | null } {
  if (given) return { taskType: given, source: 'given' };
  const w = new Map<string, number>();
  const best = bestSimilarity(hits);
  for (const h of hits) {
    const k = kernel(h.similarity, best, s);
    if (k > 0) w.set(h.task_type, (w.get(h.task_type) ?? 0) + k);
  }
  const top = [...w.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  return top ? { taskType: top[0], source: 'similar_executions' } : { taskType: null, source: null };
}

/** The most specific level with at least `minEvidence` executions behind it. */
export function basisOf(ps: readonly TierPosterior[], minEvidence: number): Basis {
  const sum = (f: (p: TierPosterior) => number) => ps.reduce((a, p) => a + f(p), 0);
  if (ps.length === 0) return 'none';
  if (sum((p) => p.neighbour_weight) >= minEvidence) return 'similar_executions';
  if (sum((p) => p.counts.task_type) >= minEvidence) return 'task_type_history';
  if (sum((p) => p.counts.repo) >= minEvidence) return 'repo_history';
  return 'global_history';
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

export interface Recommendation {
  rows: Record<string, unknown>[];
  answer: Record<string, unknown>;
  notes: string[];
}

/** The answer for one decision: per-tier rows and the machine-readable fields. */
export function answerOf(p: RecommendParams, ps: readonly TierPosterior[], d: Decision, ctx: { basis: Basis; taskType: string | null; taskTypeSource: string | null; hits: number; bestSimilarity: number | null; mode: string }): Omit<Recommendation, 'notes'> {
  const rows = ps.map((t) => {
    const [lo, hi] = credibleInterval(t);
    const level = t.counts.similar > 0 ? t.counts.similar : t.counts.task_type || t.counts.repo || t.counts.global;
    return {
      model_tier: t.tier,
      evidence: level,
      success_rate: r4(posteriorMean(t)),
      success_interval: [r4(lo), r4(hi)],
      avg_quality: t.quality_mean === null ? null : Math.round(t.quality_mean * 100) / 100,
      avg_cost: Math.round(t.cost * 1e9) / 1e9,
      p_meets_targets: r4(d.p_meets.get(t.tier)!),
      pick_probability: r4(d.policy.get(t.tier) ?? 0),
      similar_weight: r4(t.neighbour_weight),
      similar_executions: t.counts.similar,
      task_type_executions: t.counts.task_type,
      repo_executions: t.counts.repo,
      global_executions: t.counts.global,
      prior_mean: r4(t.prior_mean),
      prior_basis: t.prior_basis,
      cost_basis: t.cost_basis,
    };
  });
  const chosen = ps.find((t) => t.tier === d.tier);
  const conf = `P(success ≥ ${p.success_target} and quality ≥ ${p.quality_target})`;
  let reason: string;
  if (!d.tier) reason = 'no tier can be recommended: the database has no executions';
  else if (d.explored) reason = `explored: ${d.tier} was drawn by Thompson sampling (propensity ${r4(d.propensity)}); the best-supported pick is ${d.greedy}`;
  else if (d.targets_met) reason = `${d.tier} is the cheapest tier with ${conf} = ${r4(d.probability!)} ≥ ${p.confidence}, judged by ${BASIS_TEXT[ctx.basis]}`;
  else reason = `no tier reaches ${conf} ≥ ${p.confidence}; ${d.tier} is the most likely to (${r4(d.probability!)}), judged by ${BASIS_TEXT[ctx.basis]}`;
  const sum = (f: (t: TierPosterior) => number) => ps.reduce((a, t) => a + f(t), 0);
  return {
    rows,
    answer: {
      recommended_tier: d.tier,
      basis: ctx.basis,
      task_type: ctx.taskType,
      reason,
      similar_executions: ctx.hits,
      quality_target: p.quality_target,
      success_target: p.success_target,
      targets_met: d.targets_met,
      probability: d.probability === null ? null : r4(d.probability),
      confidence: p.confidence,
      credible_interval: chosen ? rows.find((r) => r.model_tier === d.tier)!.success_interval : null,
      expected_cost: chosen ? Math.round(chosen.cost * 1e9) / 1e9 : null,
      explored: d.explored,
      mode: ctx.mode,
      greedy_tier: d.greedy,
      recommendation_id: randomUUID(),
      propensity: r4(d.propensity),
      task_type_source: ctx.taskTypeSource,
      evidence: {
        similar_executions: sum((t) => t.counts.similar),
        similar_weight: r4(sum((t) => t.neighbour_weight)),
        // The cosine of the closest past execution counted: near 1 when this very task ran before.
        best_similarity: ctx.bestSimilarity === null ? null : r4(ctx.bestSimilarity),
        task_type_executions: sum((t) => t.counts.task_type),
        repo_executions: sum((t) => t.counts.repo),
        global_executions: sum((t) => t.counts.global),
      },
      strategy: 'bayes',
    },
  };
}

/** A vector hit as a neighbour: one execution, weighted by its age. */
export const neighbourOf = (h: VectorHit, nowMs: number, halfLifeDays: number): Neighbour => {
  const w = recency((nowMs - h.timestampMs) / DAY_MS, halfLifeDays);
  const q = h.quality_score;
  return { tier: h.model_tier, similarity: h.similarity, n: w, s: h.success ? w : 0, q: q === null ? 0 : w * q, qn: q === null ? 0 : w, cost: w * h.actual_cost, estimate: 0, count: 1 };
};

export class Router {
  private cache: { key: string; at: number; history: History } | null = null;
  private loading: { key: string; p: Promise<History> } | null = null;
  private explorable = 0;
  private exploredCalls = 0;
  private readonly rng: Sampler = sampler();
  readonly mode: 'exploit' | 'explore';
  readonly exploreShare: number;
  private readonly historyCacheMs: number;

  constructor(
    private readonly read: Read,
    o: RouterOptions = {},
  ) {
    this.mode = o.mode ?? 'exploit';
    this.exploreShare = o.exploreShare ?? 0.1;
    this.historyCacheMs = o.historyCacheMs ?? 1000;
    if (!(this.exploreShare >= 0 && this.exploreShare <= 1)) throw new RangeError(`exploreShare must be within 0..1, got ${o.exploreShare}`);
  }

  /** Recency-weighted sums per (repo, task type, tier) over the last `days` days, as of today. */
  async history(now: Date, halfLifeDays: number, days: number): Promise<History> {
    const today = now.toISOString().slice(0, 10);
    const key = `${today}|${halfLifeDays}|${days}`;
    if (this.cache && this.cache.key === key && now.getTime() - this.cache.at < this.historyCacheMs && this.cache.at <= now.getTime()) return this.cache.history;
    if (this.loading?.key === key) return this.loading.p;
    const p = (async () => {
      const rows = await this.read(
        `SELECT repo, task_type, model_tier, sum(total_executions * w) AS n, sum(successful_count * w) AS s, sum(sum_quality * w) AS q,
            sum(quality_count * w) AS qn, sum(sum_cost * w) AS c, sum(sum_cost_estimate * w) AS ce, sum(total_executions)::BIGINT AS count
          FROM (SELECT *, pow(0.5, date_diff('day', date, $1::DATE) / $2::DOUBLE) AS w FROM tier_performance_mv WHERE date > $1::DATE - $3::INTEGER)
          GROUP BY ALL`,
        [today, halfLifeDays, days],
      );
      const h = new History(halfLifeDays, now.getTime());
      for (const r of rows) {
        h.add(String(r.repo), String(r.task_type), String(r.model_tier), { n: Number(r.n), s: Number(r.s), q: Number(r.q), qn: Number(r.qn), cost: Number(r.c), estimate: Number(r.ce), count: Number(r.count) }, now.getTime());
      }
      this.cache = { key, at: now.getTime(), history: h };
      return h;
    })();
    this.loading = { key, p };
    try {
      return await p;
    } finally {
      if (this.loading?.p === p) this.loading = null;
    }
  }

  /** Forget the cached history (after a write that must be seen at once). */
  invalidate(): void {
    this.cache = null;
  }

  async recommend(p: RecommendParams, hits: readonly VectorHit[], now: Date, notes: string[]): Promise<Recommendation> {
    const s = settingsOf(p);
    const history = await this.history(now, p.half_life_days, p.history_days);
    const { taskType, source } = inferTaskType(p.task_type, hits, s);
    const levels = history.levels(p.repo, taskType && history.hasTaskType(taskType) ? taskType : null, now.getTime());
    const tiers = new Set([...history.tiers(), ...hits.map((h) => h.model_tier)]);
    const ps = posteriors(tiers, levels, hits.map((h) => neighbourOf(h, now.getTime(), p.half_life_days)), s);
    const mode = p.mode ?? this.mode;
    const share = p.explore_share ?? this.exploreShare;
    let mayExplore = false;
    if (mode === 'explore' && share > 0) {
      // The hard bound: at most ε of explore-mode calls (plus one) pick a tier other than the greedy one.
      mayExplore = this.exploredCalls < share * this.explorable + 1;
      this.explorable++;
    }
    const d = decide(ps, { ...DEFAULT_DECIDE, targets: { success: p.success_target, quality: p.quality_target }, confidence: p.confidence, exploreWeight: p.explore_weight ?? DEFAULT_DECIDE.exploreWeight, exploreSuccessFloor: p.explore_floor }, mayExplore, p.seed === undefined ? this.rng : sampler(p.seed));
    if (d.explored) this.exploredCalls++;
    const basis = basisOf(ps, p.min_evidence);
    if (taskType && !history.hasTaskType(taskType)) notes.push(`task type ${taskType} has no history: its level of the prior is skipped`);
    if (mode === 'explore' && !mayExplore) notes.push(`exploration budget spent (${this.exploredCalls} of ${this.explorable} explore-mode calls explored, ε = ${share}): this call exploited`);
    if (ps.some((t) => t.quality_mean === null) && p.quality_target > 0) notes.push('tiers without any quality score are judged on success alone');
    notes.push(`prior: Beta shrunk global → repo → task type with strength κ = ${p.prior_strength}; recency half-life ${p.half_life_days} days; kernel exp(−(best cosine − cosine)/${p.kernel_width}) from cosine ${p.min_similarity}`);
    return { ...answerOf(p, ps, d, { basis, taskType, taskTypeSource: source, hits: hits.length, bestSimilarity: hits.length ? bestSimilarity(hits) : null, mode }), notes };
  }
}
