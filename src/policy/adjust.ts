// Evidence-driven adjustment of quality policies. The evidence is each repository's executions in
// the last `windowDays` UTC days (today included) against the `windowDays` before, read from the
// tier_performance_mv summary table; proposeAdjustments is a pure function of that evidence, the
// current policies and the rules, and proposes at most one small step per repository. The rules
// are documented in docs/quality-policies.md; in brief:
//   - enough evidence: ≥ minExecutions executions in each window (quality: ≥ minQualityCount scored);
//   - tighten when the success rate fell significantly (two-proportion z-test, z ≤ −tightenZ, and
//     by ≥ minSuccessDelta) or average quality fell by ≥ qualityDelta points;
//   - relax only on stronger proof: success rose with z ≥ relaxZ and by ≥ minSuccessDelta, to at
//     least relaxMinSuccessRate, and quality was measured and did not fall;
//   - one step: coverage ± coverageStep within [coverageMin, coverageMax]; strictness one level,
//     and only when success and quality agree;
//   - never within manualFreezeDays of a manual change, nor within cooldownDays of any change;
//   - repositories without a policy get none proposed: they are reported, with their numbers.
import type { DuckDBConnection } from '@duckdb/node-api';
import { inTransaction } from '../store/sql.js';
import { listPolicies, recordChange, STRICTNESS_LEVELS, type Policy, type PolicyChange, type Strictness } from './policies.js';

export interface AdjustRules {
  /** Length of each of the two windows compared, in whole UTC days (the recent one ends today). */
  windowDays: number;
  /** Executions needed in each window before anything is proposed. */
  minExecutions: number;
  /** Executions with a quality_score needed in each window before quality counts as a signal. */
  minQualityCount: number;
  /** |z| a fall of the success rate must reach to tighten (1.96: two-sided 95%). */
  tightenZ: number;
  /** z a rise of the success rate must reach to relax (2.576: 99%), the hysteresis. */
  relaxZ: number;
  /** Smallest change of the success rate that counts, significant or not (0.05 = 5 points). */
  minSuccessDelta: number;
  /** Smallest change of average quality (0–100) that counts. */
  qualityDelta: number;
  /** The recent success rate a repository must have reached before its policy is relaxed. */
  relaxMinSuccessRate: number;
  coverageStep: number;
  coverageMin: number;
  coverageMax: number;
  /** Days after any change (manual or automatic) during which no adjustment is proposed. */
  cooldownDays: number;
  /** Days after a manual change during which no adjustment is proposed. */
  manualFreezeDays: number;
}

export const DEFAULT_RULES: Readonly<AdjustRules> = Object.freeze({
  windowDays: 14,
  minExecutions: 50,
  minQualityCount: 30,
  tightenZ: 1.96,
  relaxZ: 2.576,
  minSuccessDelta: 0.05,
  qualityDelta: 5,
  relaxMinSuccessRate: 0.9,
  coverageStep: 5,
  coverageMin: 40,
  coverageMax: 95,
  cooldownDays: 14,
  manualFreezeDays: 30,
});

export interface WindowEvidence {
  /** First and last UTC day of the window, YYYY-MM-DD, both included. */
  from: string;
  to: string;
  executions: number;
  successes: number;
  success_rate: number | null;
  /** Executions that carried a quality_score. */
  quality_count: number;
  avg_quality: number | null;
}

export interface RepoStats {
  repo: string;
  recent: WindowEvidence;
  previous: WindowEvidence;
}

export interface Evidence extends RepoStats {
  /** recent − previous success rate. */
  success_delta: number | null;
  /** Two-proportion z statistic of success_delta (pooled); positive = better. */
  z: number | null;
  /** recent − previous average quality. */
  quality_delta: number | null;
}

/** What a policy looks like to the rules: the current policy and when it was last changed by hand. */
export interface PolicyState extends Policy {
  last_manual_change: Date | null;
}

export interface PolicyLevels {
  coverage_threshold: number | null;
  strictness_level: Strictness | null;
}

export interface Proposal {
  repo: string;
  policy_id: string;
  direction: 'tighten' | 'relax';
  from: PolicyLevels;
  to: PolicyLevels;
  /** One sentence: the signals, their numbers and thresholds, and the step. */
  reason: string;
  evidence: Evidence;
}

export type SkipCode = 'no_policy' | 'manual_freeze' | 'cooldown' | 'insufficient_evidence' | 'no_signal' | 'conflicting' | 'at_limit';

export interface Skip {
  repo: string;
  policy_id: string | null;
  code: SkipCode;
  reason: string;
  evidence: Evidence;
}

export interface AdjustmentPlan {
  windows: { recent: { from: string; to: string }; previous: { from: string; to: string } };
  proposals: Proposal[];
  skipped: Skip[];
}

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The two windows compared at `now`: recent = the last windowDays UTC days, today included. */
export function evidenceWindows(now: Date, windowDays: number): AdjustmentPlan['windows'] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return {
    recent: { from: isoDay(today - (windowDays - 1) * DAY_MS), to: isoDay(today) },
    previous: { from: isoDay(today - (2 * windowDays - 1) * DAY_MS), to: isoDay(today - windowDays * DAY_MS) },
  };
}

/**
 * Two-proportion z-test (pooled standard error) of p2 − p1, where p1 = s1/n1 and p2 = s2/n2.
 * 0 when either sample is empty or the pooled rate is 0 or 1 (no variance, no evidence of change).
 */
export function twoProportionZ(s1: number, n1: number, s2: number, n2: number): number {
  if (n1 <= 0 || n2 <= 0) return 0;
  const pooled = (s1 + s2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return 0;
  return (s2 / n2 - s1 / n1) / se;
}

const round = (x: number | null, digits = 4) => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

function emptyWindow(w: { from: string; to: string }): WindowEvidence {
  return { ...w, executions: 0, successes: 0, success_rate: null, quality_count: 0, avg_quality: null };
}

/** The evidence of one repository: its windows plus the differences and the z statistic. */
export function evidenceOf(s: RepoStats): Evidence {
  const { recent: r, previous: p } = s;
  const bothRates = r.success_rate !== null && p.success_rate !== null;
  const bothQuality = r.avg_quality !== null && p.avg_quality !== null;
  return {
    ...s,
    success_delta: bothRates ? round(r.success_rate! - p.success_rate!) : null,
    z: bothRates ? round(twoProportionZ(p.successes, p.executions, r.successes, r.executions), 3) : null,
    quality_delta: bothQuality ? round(r.avg_quality! - p.avg_quality!, 2) : null,
  };
}

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
const pts = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} points`;
const num = (x: number | null) => (x === null ? '-' : x.toFixed(1));
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
const zText = (z: number) => `${z < 0 ? '−' : ''}${Math.abs(z).toFixed(2)}`;
const points = (d: number) => Math.round(d * 1000) / 10;
const daysSince = (now: Date, then: Date) => (now.getTime() - then.getTime()) / DAY_MS;

function stepStrictness(level: Strictness | null, by: 1 | -1): Strictness | null {
  if (level === null) return null;
  const i = STRICTNESS_LEVELS.indexOf(level);
  if (i < 0) return level; // not a known level (written around setPolicy): left alone
  return STRICTNESS_LEVELS[Math.min(STRICTNESS_LEVELS.length - 1, Math.max(0, i + by))]!;
}

/** One coverage step toward the cap, never past it; a value already beyond the cap stays. */
function stepCoverage(c: number | null, by: 1 | -1, rules: AdjustRules): number | null {
  if (c === null) return null;
  if (by > 0) return c >= rules.coverageMax ? c : Math.min(rules.coverageMax, c + rules.coverageStep);
  return c <= rules.coverageMin ? c : Math.max(rules.coverageMin, c - rules.coverageStep);
}

/** Proposes at most one step per policy from the evidence; pure (now is the clock). */
export function proposeAdjustments(stats: readonly RepoStats[], policies: readonly PolicyState[], rules: AdjustRules, now: Date): AdjustmentPlan {
  const windows = evidenceWindows(now, rules.windowDays);
  const byRepo = new Map(stats.map((s) => [s.repo, s]));
  const proposals: Proposal[] = [];
  const skipped: Skip[] = [];
  const skip = (ev: Evidence, policy: PolicyState | null, code: SkipCode, reason: string) =>
    skipped.push({ repo: ev.repo, policy_id: policy?.policy_id ?? null, code, reason, evidence: ev });

  for (const s of stats) {
    if (policies.some((p) => p.repo === s.repo)) continue;
    skip(evidenceOf(s), null, 'no_policy', `no policy: none is proposed from telemetry alone (${s.recent.executions} recent, ${s.previous.executions} previous executions); set one with \`orb-learn policy set --repo ${s.repo}\``);
  }

  for (const policy of policies) {
    const ev = evidenceOf(byRepo.get(policy.repo) ?? { repo: policy.repo, recent: emptyWindow(windows.recent), previous: emptyWindow(windows.previous) });
    const { recent: r, previous: p } = ev;

    if (policy.last_manual_change && daysSince(now, policy.last_manual_change) < rules.manualFreezeDays) {
      skip(ev, policy, 'manual_freeze', `changed by hand ${daysSince(now, policy.last_manual_change).toFixed(1)} days ago; no adjustment within ${rules.manualFreezeDays} days of a manual change`);
      continue;
    }
    if (policy.last_adjusted && daysSince(now, policy.last_adjusted) < rules.cooldownDays) {
      skip(ev, policy, 'cooldown', `changed ${daysSince(now, policy.last_adjusted).toFixed(1)} days ago; the next step waits ${rules.cooldownDays} days, for evidence gathered under the current policy`);
      continue;
    }
    if (r.executions < rules.minExecutions || p.executions < rules.minExecutions) {
      skip(ev, policy, 'insufficient_evidence', `too little evidence: ${p.executions} previous and ${r.executions} recent executions, ${rules.minExecutions} needed in each window`);
      continue;
    }

    const z = ev.z ?? 0;
    const dS = ev.success_delta ?? 0;
    const successDown = z <= -rules.tightenZ && dS <= -rules.minSuccessDelta;
    const successUp = z >= rules.relaxZ && dS >= rules.minSuccessDelta;
    const qualityMeasured = r.quality_count >= rules.minQualityCount && p.quality_count >= rules.minQualityCount && ev.quality_delta !== null;
    const dQ = qualityMeasured ? ev.quality_delta! : 0;
    const qualityDown = qualityMeasured && dQ <= -rules.qualityDelta;
    const qualityUp = qualityMeasured && dQ >= rules.qualityDelta;

    const successText = `success rate ${pct(p.success_rate)} → ${pct(r.success_rate)} (${pts(dS)}, z = ${zText(z)}, n = ${p.executions} → ${r.executions})`;
    const qualityText = qualityMeasured
      ? `average quality ${num(p.avg_quality)} → ${num(r.avg_quality)} (${signed(dQ)}, ${p.quality_count} → ${r.quality_count} scored)`
      : `quality not measured (${p.quality_count} and ${r.quality_count} scored, ${rules.minQualityCount} needed in each window)`;

    if ((successDown || qualityDown) && (successUp || qualityUp)) {
      skip(ev, policy, 'conflicting', `conflicting signals: ${successText}; ${qualityText}`);
      continue;
    }

    let direction: 'tighten' | 'relax' | null = null;
    let both = false;
    const signals: string[] = [];
    if (successDown || qualityDown) {
      direction = 'tighten';
      both = successDown && qualityDown;
      if (successDown) signals.push(`success rate fell ${pct(p.success_rate)} → ${pct(r.success_rate)} (${pts(dS)}, z = ${zText(z)} ≤ −${rules.tightenZ}, n = ${p.executions} → ${r.executions})`);
      if (qualityDown) signals.push(`average quality fell ${num(p.avg_quality)} → ${num(r.avg_quality)} (${signed(dQ)}, threshold ${rules.qualityDelta}; ${p.quality_count} → ${r.quality_count} scored)`);
      // The other signal, for context.
      if (!successDown) signals.push(successText);
      if (!qualityDown) signals.push(qualityText);
    } else if (successUp && qualityMeasured && !qualityDown && (r.success_rate ?? 0) >= rules.relaxMinSuccessRate) {
      direction = 'relax';
      both = qualityUp;
      signals.push(`success rate rose ${pct(p.success_rate)} → ${pct(r.success_rate)} (${pts(dS)}, z = ${zText(z)} ≥ ${rules.relaxZ}, n = ${p.executions} → ${r.executions})`);
      signals.push(qualityUp ? `average quality rose ${num(p.avg_quality)} → ${num(r.avg_quality)} (${signed(dQ)})` : `average quality held ${num(p.avg_quality)} → ${num(r.avg_quality)} (${signed(dQ)})`);
    }

    if (direction === null) {
      let why = `within noise: ${successText}; ${qualityText}. Tightening needs z ≤ −${rules.tightenZ} and a fall of ${points(rules.minSuccessDelta)} points, or quality −${rules.qualityDelta}`;
      why += `; relaxing needs z ≥ ${rules.relaxZ}, a rise of ${points(rules.minSuccessDelta)} points to ≥ ${pct(rules.relaxMinSuccessRate)}, and quality measured and not falling`;
      skip(ev, policy, 'no_signal', why);
      continue;
    }

    const by = direction === 'tighten' ? 1 : -1;
    const from: PolicyLevels = { coverage_threshold: policy.coverage_threshold, strictness_level: policy.strictness_level };
    const to: PolicyLevels = {
      coverage_threshold: stepCoverage(policy.coverage_threshold, by, rules),
      strictness_level: both ? stepStrictness(policy.strictness_level, by) : policy.strictness_level,
    };
    const steps: string[] = [];
    if (to.coverage_threshold !== from.coverage_threshold) steps.push(`coverage ${from.coverage_threshold} → ${to.coverage_threshold}`);
    if (to.strictness_level !== from.strictness_level) steps.push(`strictness ${from.strictness_level} → ${to.strictness_level}`);
    const held = both ? '' : ` (strictness moves only when success and quality agree)`;
    if (steps.length === 0) {
      skip(ev, policy, 'at_limit', `${signals.join('; ')}; but the policy is already at its limit (coverage ${from.coverage_threshold}, within ${rules.coverageMin}–${rules.coverageMax}; strictness ${from.strictness_level})${held}`);
      continue;
    }
    proposals.push({ repo: policy.repo, policy_id: policy.policy_id, direction, from, to, reason: `${signals.join('; ')}: ${direction} ${steps.join(', ')}${held}`, evidence: ev });
  }

  const byName = (a: { repo: string }, b: { repo: string }) => (a.repo < b.repo ? -1 : a.repo > b.repo ? 1 : 0);
  return { windows, proposals: proposals.sort(byName), skipped: skipped.sort(byName) };
}

/** Each repository's executions, successes and quality in the two windows, from tier_performance_mv. */
export async function gatherEvidence(conn: DuckDBConnection, now: Date, windowDays: number): Promise<RepoStats[]> {
  const w = evidenceWindows(now, windowDays);
  const r = await conn.runAndReadAll(
    `SELECT repo,
        coalesce(sum(total_executions) FILTER (WHERE date >= $2::DATE), 0)::BIGINT AS recent_executions,
        coalesce(sum(successful_count) FILTER (WHERE date >= $2::DATE), 0)::BIGINT AS recent_successes,
        coalesce(sum(quality_count) FILTER (WHERE date >= $2::DATE), 0)::BIGINT AS recent_quality_count,
        coalesce(sum(sum_quality) FILTER (WHERE date >= $2::DATE), 0)::DOUBLE AS recent_sum_quality,
        coalesce(sum(total_executions) FILTER (WHERE date < $2::DATE), 0)::BIGINT AS previous_executions,
        coalesce(sum(successful_count) FILTER (WHERE date < $2::DATE), 0)::BIGINT AS previous_successes,
        coalesce(sum(quality_count) FILTER (WHERE date < $2::DATE), 0)::BIGINT AS previous_quality_count,
        coalesce(sum(sum_quality) FILTER (WHERE date < $2::DATE), 0)::DOUBLE AS previous_sum_quality
      FROM tier_performance_mv
      WHERE date BETWEEN $1::DATE AND $3::DATE
      GROUP BY repo ORDER BY repo`,
    [w.previous.from, w.recent.from, w.recent.to],
  );
  const window = (x: Record<string, unknown>, k: 'recent' | 'previous'): WindowEvidence => {
    const executions = Number(x[`${k}_executions`]);
    const successes = Number(x[`${k}_successes`]);
    const quality_count = Number(x[`${k}_quality_count`]);
    return {
      ...w[k],
      executions,
      successes,
      success_rate: executions > 0 ? round(successes / executions) : null,
      quality_count,
      avg_quality: quality_count > 0 ? round(Number(x[`${k}_sum_quality`]) / quality_count, 2) : null,
    };
  };
  return (r.getRowObjectsJS() as Record<string, unknown>[]).map((x) => ({ repo: String(x.repo), recent: window(x, 'recent'), previous: window(x, 'previous') }));
}

/** The current policies with the time of each one's last manual change, from the history. */
export async function policyStates(conn: DuckDBConnection): Promise<PolicyState[]> {
  const policies = await listPolicies(conn);
  const r = await conn.runAndReadAll(`SELECT repo, max(changed_at) AS at FROM quality_policy_history WHERE source = 'manual' GROUP BY repo`);
  const manual = new Map((r.getRowObjectsJS() as { repo: string; at: Date }[]).map((x) => [x.repo, x.at]));
  return policies.map((p) => ({ ...p, last_manual_change: manual.get(p.repo) ?? null }));
}

export interface AdjustOptions {
  /** Write the proposals; otherwise only propose. */
  apply?: boolean;
  now?: Date;
  rules?: Partial<AdjustRules>;
}

export interface AdjustmentReport extends AdjustmentPlan {
  now: Date;
  applied: boolean;
  rules: AdjustRules;
  /** The history rows written (empty unless applied). */
  changes: PolicyChange[];
}

/**
 * Gathers the evidence, proposes, and with apply writes every proposal (quality_policies'
 * coverage_threshold, strictness_level, last_adjusted, adjustment_reason, plus a history row with
 * the evidence) — evidence, proposals and writes in one transaction. Applying restarts the
 * cool-down, so a second run on the same data proposes nothing.
 */
export async function adjustPolicies(conn: DuckDBConnection, opts: AdjustOptions = {}): Promise<AdjustmentReport> {
  const rules: AdjustRules = { ...DEFAULT_RULES, ...opts.rules };
  const now = opts.now ?? new Date();
  const apply = opts.apply ?? false;
  return inTransaction(conn, async () => {
    const [stats, states] = [await gatherEvidence(conn, now, rules.windowDays), await policyStates(conn)];
    const plan = proposeAdjustments(stats, states, rules, now);
    const changes: PolicyChange[] = [];
    if (apply) {
      for (const p of plan.proposals) {
        const state = states.find((s) => s.policy_id === p.policy_id)!;
        await conn.run(
          `UPDATE quality_policies SET coverage_threshold = $1, strictness_level = $2, last_adjusted = $3::TIMESTAMP, adjustment_reason = $4
            WHERE policy_id = $5::UUID`,
          [p.to.coverage_threshold, p.to.strictness_level, now.toISOString(), `adjustment: ${p.reason}`, p.policy_id],
        );
        changes.push(
          await recordChange(conn, {
            policy_id: p.policy_id,
            repo: p.repo,
            changed_at: now,
            source: 'adjustment',
            before: { project_maturity: state.project_maturity, ...p.from },
            after: { project_maturity: state.project_maturity, ...p.to },
            reason: p.reason,
            evidence: { direction: p.direction, ...p.evidence, rules },
          }),
        );
      }
    }
    return { now, applied: apply, rules, ...plan, changes };
  });
}
