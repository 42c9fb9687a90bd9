// The recommend of before the Bayesian router (strategy=legacy), kept for comparison in
// bench:routing and for callers that relied on it: raw success rates of up to k neighbours above
// min_similarity, all weighted alike, falling back to the task type's 90-day history; no prior,
// no kernel, no exploration, and no tier when no tier has min_evidence executions.
import { randomUUID } from 'node:crypto';
import type { VectorHit } from '../vector-index.js';

/** Wilson score interval for a proportion, 95%. */
export function wilson(successes: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = successes / n;
  const d = 1 + (z * z) / n;
  const c = p + (z * z) / (2 * n);
  const m = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, (c - m) / d), Math.min(1, (c + m) / d)];
}

export interface TierEvidence {
  model_tier: string;
  evidence: number;
  success_rate: number;
  success_interval: [number, number];
  avg_quality: number | null;
  avg_cost: number;
}

export interface LegacyParams {
  task_type?: string;
  min_similarity: number;
  min_evidence: number;
  success_target: number;
  quality_target: number;
}

function majority(xs: string[]): string | undefined {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

export function tierEvidence(items: { tier: string; success: boolean; quality: number | null; cost: number }[]): TierEvidence[] {
  const m = new Map<string, { n: number; s: number; q: number; qn: number; c: number }>();
  for (const i of items) {
    const a = m.get(i.tier) ?? { n: 0, s: 0, q: 0, qn: 0, c: 0 };
    a.n++;
    if (i.success) a.s++;
    if (i.quality !== null) {
      a.q += i.quality;
      a.qn++;
    }
    a.c += i.cost;
    m.set(i.tier, a);
  }
  return [...m.entries()]
    .map(([tier, a]) => ({ model_tier: tier, evidence: a.n, success_rate: a.s / a.n, success_interval: wilson(a.s, a.n), avg_quality: a.qn ? a.q / a.qn : null, avg_cost: a.c / a.n }))
    .sort((x, y) => x.avg_cost - y.avg_cost);
}

/** hits: the k nearest above min_similarity; typeHistory: the task type's 90-day evidence per tier. */
export async function legacyRecommend(p: LegacyParams, hits: readonly VectorHit[], typeHistory: (taskType: string) => Promise<TierEvidence[]>, notes: string[]) {
  const taskType = p.task_type ?? majority(hits.map((h) => h.task_type));
  let basis = 'similar_executions';
  let evidence = tierEvidence(hits.map((h) => ({ tier: h.model_tier, success: h.success, quality: h.quality_score, cost: h.actual_cost })));
  if (!evidence.some((e) => e.evidence >= p.min_evidence)) {
    notes.push(`similar evidence is thin (${hits.length} similar executions, no tier with ${p.min_evidence}); falling back to the history of task type ${taskType ?? '(unknown)'}`);
    basis = 'task_type_history';
    evidence = taskType ? await typeHistory(taskType) : [];
  }
  const usable = evidence.filter((e) => e.evidence >= p.min_evidence);
  const meets = usable.filter((e) => e.success_rate >= p.success_target && e.avg_quality !== null && e.avg_quality >= p.quality_target);
  let recommended: string | null = null;
  let reason: string;
  if (usable.length === 0) {
    reason = `no recommendation: no tier has ${p.min_evidence} or more executions to judge by`;
    basis = 'insufficient_evidence';
  } else if (meets.length > 0) {
    const pick = meets.reduce((a, b) => (b.avg_cost < a.avg_cost ? b : a));
    recommended = pick.model_tier;
    reason = `${pick.model_tier} is the cheapest tier that meets success ≥ ${p.success_target} and quality ≥ ${p.quality_target} (${pick.evidence} executions)`;
  } else {
    const best = usable.reduce((a, b) => (b.success_rate > a.success_rate || (b.success_rate === a.success_rate && (b.avg_quality ?? 0) > (a.avg_quality ?? 0)) ? b : a));
    recommended = best.model_tier;
    reason = `no tier meets the targets; ${best.model_tier} has the best success rate`;
  }
  return {
    rows: evidence.map((e) => ({ ...e })) as unknown as Record<string, unknown>[],
    answer: {
      recommended_tier: recommended,
      basis,
      task_type: taskType,
      reason,
      similar_executions: hits.length,
      quality_target: p.quality_target,
      success_target: p.success_target,
      targets_met: meets.length > 0,
      explored: false,
      recommendation_id: randomUUID(),
      propensity: 1,
      strategy: 'legacy',
    },
    notes,
  };
}
