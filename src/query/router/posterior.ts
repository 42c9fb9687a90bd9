// The router's evidence, per tier: similar past executions weighted by a kernel over their cosine
// and by recency, on top of a Beta prior shrunk from global → repo → task-type history. Pure: the
// live recommend and the eval replay both feed it (docs/routing.md has the formulas).
import betaCdf from '@stdlib/stats-base-dists-beta-cdf';
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';

/** Recency-weighted sums of one tier's outcomes at one level (or one neighbour). */
export interface TierSums {
  /** Σ weight (executions). */
  n: number;
  /** Σ weight · success. */
  s: number;
  /** Σ weight · quality, over executions with a quality score. */
  q: number;
  /** Σ weight over executions with a quality score. */
  qn: number;
  /** Σ weight · actual_cost. */
  cost: number;
  /** Σ weight · cost_estimate. */
  estimate: number;
  /** Executions, unweighted: how much evidence, as reported. */
  count: number;
}

export const emptySums = (): TierSums => ({ n: 0, s: 0, q: 0, qn: 0, cost: 0, estimate: 0, count: 0 });

export function addSums(a: TierSums, b: TierSums, k = 1): void {
  a.n += k * b.n;
  a.s += k * b.s;
  a.q += k * b.q;
  a.qn += k * b.qn;
  a.cost += k * b.cost;
  a.estimate += k * b.estimate;
  a.count += b.count;
}

/** The history levels a prior is shrunk through, most general first; a missing level is skipped. */
export interface Levels {
  global: Map<string, TierSums>;
  repo: Map<string, TierSums> | null;
  taskType: Map<string, TierSums> | null;
}

/** A similar past execution (or a group of executions with one vector), recency-weighted sums. */
export interface Neighbour extends TierSums {
  tier: string;
  similarity: number;
}

export interface RouterSettings {
  /** κ: pseudo-executions a parent level's rate counts for at the next level. */
  priorStrength: number;
  /** Half-life of an execution's weight, in days. */
  halfLifeDays: number;
  /** τ of the kernel exp(−(best cosine − cosine)/τ): how fast a neighbour counts less than the best match. */
  kernelWidth: number;
  /** Past executions less similar than this are not evidence. */
  minSimilarity: number;
  /** Assumed standard deviation of one execution's quality score, for the mean quality's posterior. */
  qualitySd: number;
}

export const DEFAULT_ROUTER_SETTINGS: RouterSettings = {
  priorStrength: 4,
  halfLifeDays: 30,
  kernelWidth: 0.05,
  minSimilarity: 0.5,
  qualitySd: 15,
};

/**
 * A neighbour's weight from its cosine: 1 for the best match, e-fold per τ below it, 0 under
 * minSimilarity. Relative to the best match because a model's cosine scale is its own (a close
 * paraphrase scores 0.6 with one model, 0.9 with another); minSimilarity says when nothing is close.
 */
export function kernel(similarity: number, best: number, s: Pick<RouterSettings, 'kernelWidth' | 'minSimilarity'>): number {
  if (!(similarity >= s.minSimilarity)) return 0;
  return Math.exp(-(Math.max(best, similarity) - similarity) / s.kernelWidth);
}

/** A neighbour this similar is the asked task itself (the same text; int8 codes round 1.0 a little). */
export const SAME_TASK = 0.99;

/** The best cosine among neighbours (the kernel's reference). */
export const bestSimilarity = (xs: readonly { similarity: number }[]) => xs.reduce((m, x) => Math.max(m, x.similarity), -Infinity);

/** Weight of an execution `ageDays` old. */
export const recency = (ageDays: number, halfLifeDays: number) => Math.pow(0.5, Math.max(0, ageDays) / halfLifeDays);

export interface TierPosterior {
  tier: string;
  /** Beta(α, β) over the tier's success rate. */
  alpha: number;
  beta: number;
  /** The prior mean the neighbours were shrunk toward, and the level it came from. */
  prior_mean: number;
  prior_basis: 'task_type' | 'repo' | 'global' | 'uniform';
  /** Σ kernel · recency over the similar executions on this tier, and how many there were. */
  neighbour_weight: number;
  neighbours: number;
  /** Executions (unweighted) behind each level. */
  counts: { similar: number; task_type: number; repo: number; global: number };
  /** Posterior mean quality and its standard deviation; null when no level has a quality score. */
  quality_mean: number | null;
  quality_sd: number | null;
  /** Expected cost of one execution, and where it came from. */
  cost: number;
  cost_basis: 'similar_executions' | 'task_type' | 'repo' | 'global' | 'cost_estimate' | 'unknown';
}

export interface Targets {
  success: number;
  quality: number;
}

const mean = (x: TierSums | undefined, field: 's' | 'q' | 'cost', of: 'n' | 'qn') => (x && x[of] > 0 ? x[field] / x[of] : null);

/** (x + κ·m)/(n + κ): a level's observed sum x over weight n, shrunk toward the parent's mean m. */
function shrink(sum: number, weight: number, parent: number | null, k: number): number | null {
  if (parent === null) return weight > 0 ? sum / weight : null;
  return (sum + k * parent) / (weight + k);
}

/** Per tier: the Beta posterior of its success rate, its quality and its cost. */
export function posteriors(tiers: Iterable<string>, levels: Levels, neighbours: readonly Neighbour[], s: RouterSettings): TierPosterior[] {
  const k = s.priorStrength;
  // Σ kernel · (recency-weighted sums) per tier; count is the executions inside the kernel.
  // The kernel's reference is the best match on the same tier: exact repeats of a task on one tier
  // must not silence the paraphrases that are all the evidence about another.
  // Runs of this very task (its own text: cosine ≥ SAME_TASK) count in full and are not the kernel's
  // reference: one run of the task on a tier, an exploratory one say, must add to what its similar
  // tasks say about that tier, not silence them.
  const near = new Map<string, TierSums>();
  const best = new Map<string, number>();
  for (const nb of neighbours) if (nb.similarity < SAME_TASK) best.set(nb.tier, Math.max(best.get(nb.tier) ?? -Infinity, nb.similarity));
  for (const nb of neighbours) {
    const w = nb.similarity >= SAME_TASK ? 1 : kernel(nb.similarity, best.get(nb.tier)!, s);
    if (w === 0) continue;
    let a = near.get(nb.tier);
    if (!a) near.set(nb.tier, (a = emptySums()));
    addSums(a, nb, w);
  }
  const out: TierPosterior[] = [];
  for (const tier of tiers) {
    const g = levels.global.get(tier);
    const r = levels.repo?.get(tier);
    const t = levels.taskType?.get(tier);
    // Success: Beta(1, 1) → global → repo → task type, each level shrunk toward the one above.
    let m = (g?.s ?? 0) + 1;
    m /= (g?.n ?? 0) + 2;
    let basis: TierPosterior['prior_basis'] = g && g.n > 0 ? 'global' : 'uniform';
    if (r && r.n > 0) [m, basis] = [shrink(r.s, r.n, m, k)!, 'repo'];
    if (t && t.n > 0) [m, basis] = [shrink(t.s, t.n, m, k)!, 'task_type'];
    const nb = near.get(tier);
    const alpha = k * m + (nb?.s ?? 0);
    const beta = k * (1 - m) + (nb ? nb.n - nb.s : 0);
    // Quality: the same chain over mean quality; a level without scores passes its parent on.
    let qm: number | null = null;
    for (const lv of [g, r, t]) if (lv && lv.qn > 0) qm = shrink(lv.q, lv.qn, qm, k);
    let qualityMean: number | null = null;
    let qualitySd: number | null = null;
    if (qm !== null || (nb && nb.qn > 0)) {
      qualityMean = shrink(nb?.q ?? 0, nb?.qn ?? 0, qm, k);
      qualitySd = s.qualitySd / Math.sqrt((nb?.qn ?? 0) + (qm === null ? 0 : k));
    }
    // Cost: the most specific observed mean; the estimate only where no run reported a cost.
    let cost = 0;
    let costBasis: TierPosterior['cost_basis'] = 'unknown';
    const observed: [TierSums | undefined, TierPosterior['cost_basis']][] = [[nb && nb.n >= 1 ? nb : undefined, 'similar_executions'], [t, 'task_type'], [r, 'repo'], [g, 'global']];
    const found = observed.find(([x]) => x && x.n > 0 && x.cost > 0);
    if (found) [cost, costBasis] = [mean(found[0], 'cost', 'n')!, found[1]];
    else {
      const est = [t, r, g].find((x) => x && x.n > 0 && x.estimate > 0);
      if (est) [cost, costBasis] = [est.estimate / est.n, 'cost_estimate'];
    }
    out.push({
      tier,
      alpha,
      beta,
      prior_mean: m,
      prior_basis: basis,
      neighbour_weight: nb?.n ?? 0,
      neighbours: nb?.count ?? 0,
      counts: { similar: nb?.count ?? 0, task_type: t?.count ?? 0, repo: r?.count ?? 0, global: g?.count ?? 0 },
      quality_mean: qualityMean,
      quality_sd: qualitySd,
      cost,
      cost_basis: costBasis,
    });
  }
  // Costs equal to a billionth tie (sums of floats), then by name: the order is stable.
  const c = (x: TierPosterior) => Math.round(x.cost * 1e9);
  return out.sort((a, b) => c(a) - c(b) || a.tier.localeCompare(b.tier));
}

/** P(success rate ≥ target) · P(mean quality ≥ target) under the posterior (quality ignored when unknown). */
export function pMeets(p: TierPosterior, targets: Targets): number {
  const success = targets.success <= 0 ? 1 : 1 - betaCdf(targets.success, p.alpha, p.beta);
  if (p.quality_mean === null || p.quality_sd === null || targets.quality <= 0) return success;
  return success * (1 - normalCdf(targets.quality, p.quality_mean, p.quality_sd));
}

export const posteriorMean = (p: TierPosterior) => p.alpha / (p.alpha + p.beta);

/** The central credible interval of the success rate (default 95%). */
export function credibleInterval(p: TierPosterior, level = 0.95): [number, number] {
  const tail = (1 - level) / 2;
  return [betaQuantile(tail, p.alpha, p.beta), betaQuantile(1 - tail, p.alpha, p.beta)];
}
