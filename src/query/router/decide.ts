// The router's choice from the tier posteriors: the cheapest tier likely enough to meet the targets,
// or, when a call explores, a Thompson sample mixed in at a bounded rate. Every choice carries the
// probability with which it was made (its propensity), so logged outcomes can be reweighted later.
import betaFactory from '@stdlib/random-base-beta';
import { pMeets, posteriorMean, type Targets, type TierPosterior } from './posterior.js';

export interface DecideOptions {
  targets: Targets;
  /** Least posterior probability of meeting the targets for a tier to count as meeting them. */
  confidence: number;
  /** Exploration: the share ε of calls that sample the posterior instead (0 = never). */
  exploreShare: number;
  /** Exploration never picks a tier whose posterior mean success is below this… */
  exploreSuccessFloor: number;
  /** …or whose posterior mean quality is below this (when quality is known). */
  exploreQualityFloor: number;
  /** Thompson draws used to compute the sampling probabilities. */
  draws: number;
}

export const DEFAULT_DECIDE: Omit<DecideOptions, 'targets'> = { confidence: 0.7, exploreShare: 0, exploreSuccessFloor: 0.5, exploreQualityFloor: 50, draws: 256 };

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
 * Thompson sampling for "the cheapest tier that meets the targets": draw each tier's success rate
 * (and mean quality) from its posterior; pick the cheapest whose draw meets both, or, when none
 * does, the one whose drawn rate is highest. Only tiers above the floors take part.
 */
function thompson(ps: readonly TierPosterior[], o: DecideOptions, rng: Sampler): Map<string, number> {
  const eligible = ps.filter((p) => posteriorMean(p) >= o.exploreSuccessFloor && (p.quality_mean === null || p.quality_mean >= o.exploreQualityFloor));
  const freq = new Map<string, number>();
  if (eligible.length === 0) return freq;
  for (let d = 0; d < o.draws; d++) {
    let pick: string | null = null;
    let bestRate = -1;
    let bestTier = eligible[0]!.tier;
    for (const p of eligible) {
      const rate = rng.beta(p.alpha, p.beta);
      const quality = p.quality_mean === null ? Infinity : rng.normal(p.quality_mean, p.quality_sd!);
      if (rate >= o.targets.success && quality >= o.targets.quality) {
        pick = p.tier;
        break;
      }
      if (rate > bestRate) [bestRate, bestTier] = [rate, p.tier];
    }
    const t = pick ?? bestTier;
    freq.set(t, (freq.get(t) ?? 0) + 1);
  }
  for (const [t, c] of freq) freq.set(t, c / o.draws);
  return freq;
}

/**
 * Decides one call. `explore` says whether this call may explore (the mode is explore and the
 * share budget allows it); the policy is then (1 − ε)·greedy + ε·Thompson, and the tier is drawn
 * from it, so the propensity is exactly the probability of what was done.
 */
export function decide(ps: readonly TierPosterior[], o: DecideOptions, explore: boolean, rng: Sampler): Decision {
  const pm = new Map(ps.map((p) => [p.tier, pMeets(p, o.targets)]));
  const g = greedy(ps, pm, o.confidence);
  if (!g) return { tier: null, greedy: null, targets_met: false, probability: null, propensity: 1, explored: false, p_meets: pm, policy: new Map() };
  const policy = new Map<string, number>([[g.tier, 1]]);
  if (explore && o.exploreShare > 0) {
    const ts = thompson(ps, o, rng);
    if (ts.size > 0) {
      policy.set(g.tier, 1 - o.exploreShare);
      for (const [t, p] of ts) policy.set(t, (policy.get(t) ?? 0) + o.exploreShare * p);
    }
  }
  let tier = g.tier;
  if (policy.size > 1) {
    let u = rng.uniform();
    for (const [t, p] of policy) {
      tier = t;
      if ((u -= p) < 0) break;
    }
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
