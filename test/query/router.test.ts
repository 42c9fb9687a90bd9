// The router's pure parts: the posterior against a hand computation, the choice, exploration's
// bound and propensities, the fallbacks' basis, and the eval replay on a small known history.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, DEFAULT_DECIDE, sampler, thompsonPolicy } from '../../src/query/router/decide.js';
import { replay, type ReplayExecution } from '../../src/query/router/eval.js';
import { credibleInterval, emptySums, kernel, pMeets, posteriorMean, posteriors, type Levels, type Neighbour, type RouterSettings, type TierPosterior, type TierSums } from '../../src/query/router/posterior.js';
import { basisOf, Router } from '../../src/query/router/recommend.js';

const S: RouterSettings = { priorStrength: 4, halfLifeDays: 30, kernelWidth: 0.05, minSimilarity: 0.5, qualitySd: 15 };
const sums = (n: number, s: number, cost = 0, count = n): TierSums => ({ ...emptySums(), n, s, cost, count });
const nb = (tier: string, similarity: number, success: boolean, cost = 1): Neighbour => ({ tier, similarity, n: 1, s: success ? 1 : 0, q: 0, qn: 0, cost, estimate: 0, count: 1 });

/** ∫ f over [a, b], composite Simpson with n (even) intervals. */
function simpson(f: (x: number) => number, a: number, b: number, n = 200_000): number {
  const h = (b - a) / n;
  let s = f(a) + f(b);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
  return (s * h) / 3;
}
/** P(θ ≥ x) under Beta(α, β), by integrating the density numerically (β > 1 keeps it finite at 1). */
const betaTail = (x: number, a: number, b: number) => {
  const f = (t: number) => Math.pow(t, a - 1) * Math.pow(1 - t, b - 1);
  return simpson(f, x, 1) / simpson(f, 0, 1);
};

describe('router posterior', () => {
  it('matches a hand computation: Beta(1,1) → global → task type, then kernel-weighted neighbours', () => {
    const levels: Levels = { global: new Map([['small', sums(10, 5, 1)]]), repo: null, taskType: new Map([['small', sums(4, 4, 0.4)]]) };
    // Global mean (5 + 1)/(10 + 2) = 0.5; task type (4 + 4·0.5)/(4 + 4) = 0.75.
    // Neighbours: the best (0.9, success) weighs 1, the other (0.85, failure) e^−1.
    const [p] = posteriors(['small'], levels, [nb('small', 0.9, true, 0.2), nb('small', 0.85, false, 0.1)], S);
    const w2 = Math.exp(-1);
    assert.ok(Math.abs(p!.prior_mean - 0.75) < 1e-12);
    assert.equal(p!.prior_basis, 'task_type');
    assert.ok(Math.abs(p!.alpha - (4 * 0.75 + 1)) < 1e-12, `α ${p!.alpha}`);
    assert.ok(Math.abs(p!.beta - (4 * 0.25 + w2)) < 1e-12, `β ${p!.beta}`);
    assert.ok(Math.abs(posteriorMean(p!) - 4 / (5 + w2)) < 1e-12);
    // Cost: the neighbours' kernel-weighted mean, (0.2 + e^−1·0.1)/(1 + e^−1).
    assert.ok(Math.abs(p!.cost - (0.2 + w2 * 0.1) / (1 + w2)) < 1e-12);
    assert.equal(p!.cost_basis, 'similar_executions');
    const want = betaTail(0.8, 4, 1 + w2);
    const got = pMeets(p!, { success: 0.8, quality: 0 });
    assert.ok(Math.abs(got - want) < 1e-6, `P(θ ≥ 0.8) ${got}, by hand ${want}`);
    const [lo, hi] = credibleInterval(p!);
    assert.ok(Math.abs(betaTail(lo, 4, 1 + w2) - 0.975) < 1e-5 && Math.abs(betaTail(hi, 4, 1 + w2) - 0.025) < 1e-5, `95% interval ${lo}..${hi}`);
  });

  it('the kernel: relative to the best match, nothing under min_similarity', () => {
    assert.equal(kernel(0.7, 0.7, S), 1);
    assert.ok(Math.abs(kernel(0.6, 0.7, S) - Math.exp(-2)) < 1e-12);
    assert.equal(kernel(0.49, 0.7, S), 0);
  });

  it("runs of the asked task itself weigh in full and do not silence its similar tasks' runs on the tier (by hand)", () => {
    const levels: Levels = { global: new Map([['small', sums(10, 5)]]), repo: null, taskType: null };
    // Global mean (5 + 1)/(10 + 2) = 0.5. On small: one run of the task itself (cosine 1, a failure)
    // and two paraphrases at 0.8 (success) and 0.75 (success). The paraphrases' reference is 0.8, not
    // the task's own 1.0: they weigh 1 and e^−1, the task's own run 1.
    const [p] = posteriors(['small'], levels, [nb('small', 1, false), nb('small', 0.8, true), nb('small', 0.75, true)], S);
    assert.ok(Math.abs(p!.alpha - (4 * 0.5 + 1 + Math.exp(-1))) < 1e-12, `α ${p!.alpha}`);
    assert.ok(Math.abs(p!.beta - (4 * 0.5 + 1)) < 1e-12, `β ${p!.beta}`);
    assert.equal(p!.neighbours, 3);
    // Had the task's own run been the reference, the paraphrases would weigh e^−4 and e^−5.
    const [own] = posteriors(['small'], levels, [nb('small', 1, false)], S);
    assert.ok(p!.alpha - own!.alpha > 1.3, 'the paraphrases still count');
  });

  it('a tier with no run anywhere has the uniform prior; the repo level sits between global and task type', () => {
    const levels: Levels = { global: new Map([['a', sums(2, 2)]]), repo: new Map([['a', sums(4, 0)]]), taskType: null };
    const ps = posteriors(['a', 'b'], levels, [], S);
    const a = ps.find((p) => p.tier === 'a')!;
    // Global (2 + 1)/(2 + 2) = 0.75; repo (0 + 4·0.75)/(4 + 4) = 0.375.
    assert.ok(Math.abs(a.prior_mean - 0.375) < 1e-12);
    assert.equal(a.prior_basis, 'repo');
    const b = ps.find((p) => p.tier === 'b')!;
    assert.equal(b.prior_basis, 'uniform');
    assert.ok(Math.abs(b.prior_mean - 0.5) < 1e-12);
    assert.equal(b.cost_basis, 'unknown');
  });
});

function tier(t: string, alpha: number, beta: number, cost: number): TierPosterior {
  return { tier: t, alpha, beta, prior_mean: alpha / (alpha + beta), prior_basis: 'global', neighbour_weight: 0, neighbours: 0, counts: { similar: 0, task_type: 0, repo: 0, global: 10 }, quality_mean: null, quality_sd: null, cost, cost_basis: 'global' };
}

describe('router choice and exploration', () => {
  const targets = { success: 0.8, quality: 0 };
  const ps = [tier('small', 2, 2, 0.001), tier('medium', 1, 3, 0.006), tier('large', 95, 5, 0.03)];

  it('exploit: the cheapest tier reaching the confidence; else the most likely one, targets_met false', () => {
    const d = decide(ps, { ...DEFAULT_DECIDE, targets, confidence: 0.7 }, false, sampler(1));
    assert.equal(d.tier, 'large');
    assert.equal(d.targets_met, true);
    assert.equal(d.propensity, 1);
    assert.equal(d.explored, false);
    const none = decide([tier('small', 2, 2, 1), tier('large', 3, 2, 2)], { ...DEFAULT_DECIDE, targets, confidence: 0.99 }, false, sampler(1));
    assert.equal(none.tier, 'large', 'Beta(3,2) is likelier than Beta(2,2) to reach 0.8');
    assert.equal(none.targets_met, false);
    assert.ok(none.probability! > 0 && none.probability! < 0.99);
  });

  it('explore: π = (1 − λ)·greedy + λ·Thompson over tiers no costlier than greedy, in closed form (by hand)', () => {
    const o = { ...DEFAULT_DECIDE, targets, confidence: 0.7, exploreWeight: 0.5, exploreSuccessFloor: 0.2 };
    const d = decide(ps, o, true, sampler(3));
    // P(Beta(2,2) ≥ 0.8) = 1 − (3·0.8² − 2·0.8³) = 0.104; P(Beta(1,3) ≥ 0.8) = 0.2³ = 0.008.
    const small = 0.5 * 0.104;
    const medium = 0.5 * (1 - 0.104) * 0.008;
    assert.ok(Math.abs(d.policy.get('small')! - small) < 1e-9, `small ${d.policy.get('small')}`);
    assert.ok(Math.abs(d.policy.get('medium')! - medium) < 1e-9, `medium ${d.policy.get('medium')}`);
    assert.ok(Math.abs(d.policy.get('large')! - (0.5 + 0.5 * (1 - 0.104) * (1 - 0.008))) < 1e-9);
    assert.ok(Math.abs(thompsonPolicy(ps, d.p_meets).get('large')! - 0.896 * 0.992) < 1e-9);
    assert.ok(Math.abs(d.propensity - d.policy.get(d.tier!)!) < 1e-12);
  });

  it('explore: the tier is drawn as often as its reported propensity says (Monte Carlo), never above greedy, never below the floor', () => {
    const rng = sampler(7);
    const N = 40_000;
    const check = (tiers: TierPosterior[], o: typeof DEFAULT_DECIDE & { targets: typeof targets }) => {
      const counts = new Map<string, number>();
      let policy: Map<string, number> | null = null;
      for (let i = 0; i < N; i++) {
        const d = decide(tiers, o, true, rng);
        counts.set(d.tier!, (counts.get(d.tier!) ?? 0) + 1);
        assert.ok(Math.abs(d.propensity - d.policy.get(d.tier!)!) < 1e-12, 'the propensity is the policy probability of the chosen tier');
        assert.ok(Math.abs([...d.policy.values()].reduce((x, y) => x + y, 0) - 1) < 1e-9, 'the policy sums to 1');
        policy ??= d.policy;
      }
      for (const [t, p] of policy!) {
        const sd = Math.sqrt((p * (1 - p)) / N);
        assert.ok(Math.abs((counts.get(t) ?? 0) / N - p) < 4 * sd + 1e-9, `${t}: drawn ${(counts.get(t) ?? 0) / N}, propensity ${p}`);
      }
      return counts;
    };
    const base = { ...DEFAULT_DECIDE, targets, confidence: 0.7, exploreWeight: 0.5 };
    // Floor 0.2: small and medium both take part.
    check(ps, { ...base, exploreSuccessFloor: 0.2 });
    // Floor 0.4: medium (mean 0.25) never.
    assert.equal(check(ps, { ...base, exploreSuccessFloor: 0.4 }).get('medium') ?? 0, 0);
    // Greedy is medium: large is never explored, small is (P(Beta(3,1) ≥ 0.8) = 1 − 0.8³ = 0.488).
    const mid = [tier('small', 3, 1, 0.001), tier('medium', 95, 5, 0.006), tier('large', 99, 1, 0.03)];
    const c = check(mid, { ...base, confidence: 0.9, exploreSuccessFloor: 0.5 });
    assert.equal(c.get('large') ?? 0, 0);
    assert.ok(Math.abs((c.get('small') ?? 0) / N - 0.5 * 0.488) < 0.01);
  });

  it('the router bounds explore-mode calls to ε (plus one) even when every sample would explore', async () => {
    // History where small is untried (uniform prior) and large is certain: Thompson picks small often.
    const rows = [{ repo: 'r', task_type: 't', model_tier: 'large', n: 100, s: 99, q: 0, qn: 0, c: 3, ce: 3, count: 100 }, { repo: 'r', task_type: 't', model_tier: 'small', n: 0.5, s: 0.5, q: 0, qn: 0, c: 0.0005, ce: 0.0005, count: 1 }];
    const router = new Router(async () => rows, { exploreShare: 0.2, historyCacheMs: 60_000 });
    const p = { text: 'x', quality_target: 0, success_target: 0.8, k: 50, min_similarity: 0.5, min_evidence: 5, confidence: 0.7, prior_strength: 4, half_life_days: 30, kernel_width: 0.05, history_days: 365, explore_floor: 0, mode: 'explore' as const };
    let explored = 0;
    for (let i = 0; i < 500; i++) {
      const r = await router.recommend(p, [], new Date(), []);
      if (r.answer.explored) explored++;
      assert.equal(typeof r.answer.recommendation_id, 'string');
      assert.ok((r.answer.propensity as number) > 0 && (r.answer.propensity as number) <= 1);
    }
    assert.ok(explored <= 0.2 * 500 + 1, `explored ${explored} of 500`);
    assert.ok(explored > 10);
    const exploit = await router.recommend({ ...p, mode: 'exploit' }, [], new Date(), []);
    assert.equal(exploit.answer.recommended_tier, 'large');
    assert.equal(exploit.answer.explored, false);
    assert.equal(exploit.answer.propensity, 1);
  });

  it('fallbacks: the basis is the most specific level with evidence; an empty database names no tier', async () => {
    const p = (over: Partial<TierPosterior['counts']>, w = 0) => [{ ...tier('a', 1, 1, 1), neighbour_weight: w, counts: { similar: 0, task_type: 0, repo: 0, global: 0, ...over } }];
    assert.equal(basisOf(p({ global: 9, repo: 9, task_type: 9, similar: 9 }, 5), 5), 'similar_executions');
    assert.equal(basisOf(p({ global: 9, repo: 9, task_type: 9, similar: 9 }, 4.9), 5), 'task_type_history');
    assert.equal(basisOf(p({ global: 9, repo: 9, task_type: 2 }), 5), 'repo_history');
    assert.equal(basisOf(p({ global: 1 }), 5), 'global_history');
    assert.equal(basisOf([], 5), 'none');
    const empty = await new Router(async () => []).recommend({ text: 'x', quality_target: 80, success_target: 0.8, k: 50, min_similarity: 0.5, min_evidence: 5, confidence: 0.7, prior_strength: 4, half_life_days: 30, kernel_width: 0.05, history_days: 365, explore_floor: 0.5 }, [], new Date(), []);
    assert.equal(empty.answer.recommended_tier, null);
    assert.equal(empty.answer.basis, 'none');
    assert.match(String(empty.answer.reason), /no tier can be recommended: the database has no executions/);
  });
});

describe('eval replay on a small known history', () => {
  // One repo, one task type, no vectors: decisions come from the history levels alone. κ = 1 and a
  // half-life of a million days (recency ≈ 1). Hand computation (global → repo → type, each shrunk):
  //   e2 sees e1 (cheap ✓): cheap's mean 2/3 → 5/6 → 11/12; only cheap is known: router picks cheap.
  //   e3 sees e1, e2 (big ✓): both 11/12, equal P: the cheaper, cheap (logged cheap ✗: agrees).
  //   e4 sees e1..e3: cheap 2/4 → 1/2 → 1/2, Beta(½, ½), P(θ ≥ ½) = ½ < 0.6; big Beta(11/12, 1/12), P ≫ 0.6: big (agrees, ✓).
  const e = (t: number, tierName: string, success: boolean): ReplayExecution => ({ timestampMs: t, repo: 'r', task_type: 't', model_tier: tierName, success, quality_score: null, actual_cost: tierName === 'big' ? 10 : 1, cost_estimate: 0, routing_propensity: 0.5, vector: -1, scored: true });
  const history = [e(1, 'cheap', true), e(2, 'big', true), e(3, 'cheap', false), e(4, 'big', true)];

  it('agreement, observed where it agrees, IPS and doubly robust estimates', async () => {
    const r = await replay(history, [], 0, { settings: { ...S, priorStrength: 1, halfLifeDays: 1e6 }, targets: { success: 0.5, quality: 0 }, confidence: 0.6, k: 50 });
    assert.equal(r.scored, 3, 'the first has no earlier history');
    const router = r.policies.get('router')!.all;
    assert.equal(router.agree, 2);
    assert.ok(Math.abs(router.observed_success! - 0.5) < 1e-9);
    assert.ok(Math.abs(router.observed_cost! - 5.5) < 1e-9);
    // Self-normalized IPS over the two that agree, each weighted 1/0.5.
    assert.ok(Math.abs(router.ips_success! - 0.5) < 1e-9);
    assert.ok(Math.abs(router.ips_cost! - 5.5) < 1e-9);
    // DR = mean of m(choice) + [agrees]·(r − m(logged))/p: (11/12) + (11/12 − 2·11/12) + (11/12 + 2·(1 − 11/12)) over 3 = 13/36.
    assert.ok(Math.abs(router.dr_success! - 13 / 36) < 1e-9, `DR success ${router.dr_success}`);
    // Costs: the model's expected cost is each tier's observed mean (1 and 10), so DR cost = (1 + 1 + 10)/3.
    assert.ok(Math.abs(router.dr_cost! - 4) < 1e-9, `DR cost ${router.dr_cost}`);
    const logged = r.policies.get('logged')!.all;
    assert.ok(Math.abs(logged.observed_success! - 2 / 3) < 1e-9 && Math.abs(logged.observed_cost! - 7) < 1e-9);
    assert.equal(r.largest, 'big');
    assert.equal(r.cheapest, 'cheap');
  });
});
