// The router's choice from the tier posteriors: the cheapest tier likely enough to meet the targets,
// or, when a call explores, a Thompson sample over the tiers no costlier than that one. Every choice
// carries the exact probability with which it was made (its propensity), so logged outcomes can be
// reweighted later.
import betaFactory from '@stdlib/random-base-beta';
import { pMeets, posteriorMean, type Targets, type TierPosterior } from './posterior.js';

export interface DecideOptions {
  targets: Targets;
  /** Least posterior probability of meeting the targets for a tier to count as meeting them. */
  confidence: number;
  /** Exploration: the probability mass λ of an exploring call given to Thompson sampling (0 = never). */
  exploreWeight: number;
  /** Exploration never picks a tier whose posterior mean success is below this… */
  exploreSuccessFloor: number;
  /** …or whose posterior mean quality is below this (when quality is known). */
  exploreQualityFloor: number;
}

export const DEFAULT_DECIDE: Omit<DecideOptions, 'targets'> = { confidence: 0.7, exploreWeight: 0.5, exploreSuccessFloor: 0.5, exploreQualityFloor: 50 };

/** Uniform on [0, 1) and Beta(α, β) draws from one seedable generator. */
export interface Sampler {
  uniform(): number;
  beta(alpha: number, beta: number): number;
  normal(mean: number, sd: number): number;
}

export function sampler(seed?: number): Sampler {
  // stdlib's MT19937 takes seeds from 1.
  const beta = seed === undefined ? betaFactory.factory() : betaFactory.factory({ seed: seed + 1 });
  // beta.PRNG is the raw MT19937 (integers); its normalized form is uniform on [0, 1), same state.
  const mt = beta.PRNG as unknown as { normalized: () => number };
  const uniform = () => mt.normalized();
  return {
    uniform,
    beta: (a, b) => beta(a, b),
    normal: (m, sd) => {
      // Box–Muller from the same generator.
      const u = 1 - uniform();
      return m + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    },
  };
}

export interface Decision {
  tier: string | null;
  /** The greedy tier (what an exploiting call would pick). */
  greedy: string | null;
  /** Whether the greedy tier reaches the confidence; false also when no tier does and the best one is named. */
  targets_met: boolean;
  /** P(meets targets) of the chosen tier. */
  probability: number | null;
  /** Probability with which the chosen tier was picked by this call's policy. */
  propensity: number;
  /** The call picked another tier than the greedy one (it sampled, and the sample differed). */
  explored: boolean;
  /** Per tier: P(meets targets), and the probability the policy would pick it. */
  p_meets: Map<string, number>;
  policy: Map<string, number>;
}

/** The greedy choice: cheapest tier with P(meets) ≥ confidence, else the tier most likely to meet them. */
function greedy(ps: readonly TierPosterior[], pm: Map<string, number>, confidence: number): { tier: string; met: boolean } | null {
  if (ps.length === 0) return null;
  // ps is sorted by cost, cheapest first.
  const ok = ps.find((p) => pm.get(p.tier)! >= confidence);
  if (ok) return { tier: ok.tier, met: true };
  let best = ps[0]!;
  for (const p of ps) {
    const d = pm.get(p.tier)! - pm.get(best.tier)!;
    if (d > 1e-12 || (Math.abs(d) <= 1e-12 && posteriorMean(p) > posteriorMean(best))) best = p;
  }
  return { tier: best.tier, met: false };
}

/**
 * The tiers an exploring call may sample, cheapest first: those no costlier than the greedy tier
 * (exploration looks for a cheaper adequate tier; a costlier one is what the greedy choice already
 * falls back to) and, below the greedy tier, only those above the floors. The greedy tier is last.
 */
function downward(ps: readonly TierPosterior[], greedyTier: string, o: DecideOptions): TierPosterior[] {
  const at = ps.findIndex((p) => p.tier === greedyTier);
  const cheaper = ps.slice(0, at).filter((p) => posteriorMean(p) >= o.exploreSuccessFloor && (p.quality_mean === null || p.quality_mean >= o.exploreQualityFloor));
  return [...cheaper, ps[at]!];
}

/** Whether one posterior draw of tier p (success rate, and quality where it counts) meets the targets. */
function drawMeets(p: TierPosterior, targets: Targets, rng: Sampler): boolean {
  if (targets.success > 0 && rng.beta(p.alpha, p.beta) < targets.success) return false;
  if (p.quality_mean === null || p.quality_sd === null || targets.quality <= 0) return true;
  return rng.normal(p.quality_mean, p.quality_sd) >= targets.quality;
}

/**
 * Thompson sampling for "the cheapest tier that meets the targets", over the downward tiers: draw
 * each tier's success rate (and quality) from its posterior, cheapest first; pick the first whose
 * draw meets the targets, else the greedy tier. The draws are independent, so tier t is picked with
 * probability P_t·Π(1 − P_u) over the cheaper tiers u, P the probability a draw meets the targets,
 * which is pMeets; the greedy tier gets the rest. `thompsonPolicy` is that closed form, `thompsonDraw`
 * the procedure itself.
 */
export function thompsonPolicy(tiers: readonly TierPosterior[], pm: ReadonlyMap<string, number>): Map<string, number> {
  const policy = new Map<string, number>();
  let none = 1; // probability that every cheaper draw failed
  for (const p of tiers.slice(0, -1)) {
    const pt = pm.get(p.tier)!;
    policy.set(p.tier, none * pt);
    none *= 1 - pt;
  }
  policy.set(tiers.at(-1)!.tier, none);
  return policy;
}

export function thompsonDraw(tiers: readonly TierPosterior[], targets: Targets, rng: Sampler): string {
  for (const p of tiers.slice(0, -1)) if (drawMeets(p, targets, rng)) return p.tier;
  return tiers.at(-1)!.tier;
}

/**
 * Decides one call. `explore` says whether this call may explore (the mode is explore and the share
 * budget allows it); its policy is then π = (1 − λ)·greedy + λ·Thompson over the downward tiers: a
 * uniform draw below λ runs the Thompson procedure, else the greedy tier is taken. The propensity is
 * π of the tier chosen, exactly.
 */
export function decide(ps: readonly TierPosterior[], o: DecideOptions, explore: boolean, rng: Sampler): Decision {
  const pm = new Map(ps.map((p) => [p.tier, pMeets(p, o.targets)]));
  const g = greedy(ps, pm, o.confidence);
  if (!g) return { tier: null, greedy: null, targets_met: false, probability: null, propensity: 1, explored: false, p_meets: pm, policy: new Map() };
  const policy = new Map<string, number>([[g.tier, 1]]);
  let tier = g.tier;
  const down = explore && o.exploreWeight > 0 ? downward(ps, g.tier, o) : [];
  if (down.length > 1) {
    const lambda = o.exploreWeight;
    policy.set(g.tier, 1 - lambda);
    for (const [t, p] of thompsonPolicy(down, pm)) policy.set(t, (policy.get(t) ?? 0) + lambda * p);
    if (rng.uniform() < lambda) tier = thompsonDraw(down, o.targets, rng);
  }
  return {
    tier,
    greedy: g.tier,
    targets_met: tier === g.tier ? g.met : pm.get(tier)! >= o.confidence,
    probability: pm.get(tier)!,
    propensity: policy.get(tier)!,
    explored: tier !== g.tier,
    p_meets: pm,
    policy,
  };
}
