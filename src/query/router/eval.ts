// eval routing: what the router would have done on this history. Executions are replayed in time
// order; each is decided by the same posterior and choice as recommend, seeing only executions
// strictly earlier, then added to the evidence. In memory and incremental: the history levels are
// sums updated per execution, and each distinct vector's nearest distinct vectors are found once
// (usearch, exact), so a replay costs one pass, not one query per execution.
import usearch from 'usearch';
import { decide, DEFAULT_DECIDE, sampler } from './decide.js';
import { History } from './history.js';
import { addSums, emptySums, posteriorMean, posteriors, type Neighbour, type RouterSettings, type TierPosterior, type TierSums } from './posterior.js';

const { exactSearch, MetricKind } = usearch;
const DAY_MS = 86_400_000;

export interface ReplayExecution {
  timestampMs: number;
  repo: string;
  task_type: string;
  model_tier: string;
  success: boolean;
  quality_score: number | null;
  actual_cost: number;
  cost_estimate: number;
  routing_propensity: number | null;
  /** Index into the distinct vectors, or −1 when the execution has none. */
  vector: number;
  /** Scored (in the evaluation window), or history only. */
  scored: boolean;
}

export interface ReplayOptions {
  settings: RouterSettings;
  targets: { success: number; quality: number };
  confidence: number;
  k: number;
  /** Further confidences to replay beside the chosen one, for "cost saving at equal success". */
  sweep?: number[];
  /** Nearest distinct vectors kept per vector (the replay's neighbour lists). */
  neighbourLists?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Outcome and cost estimates of one policy, overall or for one task type. */
export interface PolicyValue {
  /** Direct method: the replay's posterior mean success and expected cost of the policy's tier. */
  dm_success: number;
  dm_cost: number;
  /** Self-normalized inverse propensity, over executions with a logged propensity. */
  ips_success: number | null;
  ips_cost: number | null;
  /** Doubly robust: the direct method corrected by the propensity-weighted residual where it agrees. */
  dr_success: number | null;
  dr_cost: number | null;
  /** Observed success and cost where the policy agrees with the logged tier (biased: the logger chose those). */
  agree: number;
  observed_success: number | null;
  observed_cost: number | null;
}

class Acc {
  n = 0;
  withP = 0;
  dmS = 0;
  dmC = 0;
  ipsW = 0;
  ipsS = 0;
  ipsC = 0;
  drS = 0;
  drC = 0;
  agree = 0;
  obsS = 0;
  obsC = 0;

  add(choice: string, e: ReplayExecution, model: Map<string, { s: number; c: number }>): void {
    const m = model.get(choice)!;
    const logged = model.get(e.model_tier) ?? { s: m.s, c: m.c };
    const r = e.success ? 1 : 0;
    this.n++;
    this.dmS += m.s;
    this.dmC += m.c;
    const agree = choice === e.model_tier;
    if (agree) {
      this.agree++;
      this.obsS += r;
      this.obsC += e.actual_cost;
    }
    const p = e.routing_propensity;
    if (p !== null && p > 0) {
      this.withP++;
      this.drS += m.s + (agree ? (r - logged.s) / p : 0);
      this.drC += m.c + (agree ? (e.actual_cost - logged.c) / p : 0);
      if (agree) {
        this.ipsW += 1 / p;
        this.ipsS += r / p;
        this.ipsC += e.actual_cost / p;
      }
    }
  }

  value(): PolicyValue {
    const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
    return {
      dm_success: this.dmS / this.n,
      dm_cost: this.dmC / this.n,
      ips_success: ratio(this.ipsS, this.ipsW),
      ips_cost: ratio(this.ipsC, this.ipsW),
      dr_success: ratio(this.drS, this.withP),
      dr_cost: ratio(this.drC, this.withP),
      agree: this.agree,
      observed_success: ratio(this.obsS, this.agree),
      observed_cost: ratio(this.obsC, this.agree),
    };
  }
}

export interface ReplayResult {
  scored: number;
  withPropensity: number;
  withVector: number;
  /** Per policy name (router, logged, always-largest, always-cheapest, router@confidence): overall and per task type. */
  policies: Map<string, { all: PolicyValue; byType: Map<string, PolicyValue> }>;
  byTypeCount: Map<string, number>;
  largest: string | null;
  cheapest: string | null;
  answered: number;
}

/** For each distinct vector, the nearest distinct vectors (itself first), best first, with cosines. */
function neighbourLists(vectors: readonly Int8Array[], dim: number, m: number): { ids: Uint32Array[]; sims: Float32Array[] } {
  const n = vectors.length;
  const ids: Uint32Array[] = [];
  const sims: Float32Array[] = [];
  if (n === 0) return { ids, sims };
  const data = new Int8Array(n * dim);
  vectors.forEach((v, i) => data.set(v, i * dim));
  const count = Math.min(n, m);
  // In blocks of queries: one exact SIMD search per block over every distinct vector.
  for (let start = 0; start < n; start += 256) {
    const q = data.subarray(start * dim, Math.min(n, start + 256) * dim);
    const rows = q.length / dim;
    const r = exactSearch(data, q, dim, count, MetricKind.Cos, 2) as { keys: BigUint64Array; distances: Float32Array; counts?: BigUint64Array };
    for (let i = 0; i < rows; i++) {
      const id = new Uint32Array(count);
      const sim = new Float32Array(count);
      for (let j = 0; j < count; j++) {
        id[j] = Number(r.keys[i * count + j]);
        sim[j] = 1 - r.distances[i * count + j]!;
      }
      ids.push(id);
      sims.push(sim);
    }
  }
  return { ids, sims };
}

/** Replays `executions` (in time order) against the router. */
export async function replay(executions: readonly ReplayExecution[], vectors: readonly Int8Array[], dim: number, o: ReplayOptions): Promise<ReplayResult> {
  const s = o.settings;
  const lists = neighbourLists(vectors, dim, o.neighbourLists ?? 64);
  const origin = executions[0]?.timestampMs ?? 0;
  const history = new History(s.halfLifeDays, origin);
  const growth = (t: number) => Math.pow(2, (t - origin) / DAY_MS / s.halfLifeDays);
  // Per distinct vector: sums per tier (in the history's growth units) of the executions seen so far.
  const seen: (Map<string, TierSums> | undefined)[] = new Array(vectors.length);
  const confidences = [o.confidence, ...(o.sweep ?? []).filter((c) => c !== o.confidence)];
  const policies = new Map<string, { all: Acc; byType: Map<string, Acc> }>();
  const policy = (name: string) => {
    let p = policies.get(name);
    if (!p) policies.set(name, (p = { all: new Acc(), byType: new Map() }));
    return p;
  };
  const byTypeCount = new Map<string, number>();
  const rng = sampler(1);
  let pending: ReplayExecution[] = [];
  let pendingAt = -Infinity;
  const commit = () => {
    for (const e of pending) {
      const x: TierSums = { n: 1, s: e.success ? 1 : 0, q: e.quality_score ?? 0, qn: e.quality_score === null ? 0 : 1, cost: e.actual_cost, estimate: e.cost_estimate, count: 1 };
      history.add(e.repo, e.task_type, e.model_tier, x, e.timestampMs);
      if (e.vector < 0) continue;
      let m = seen[e.vector];
      if (!m) seen[e.vector] = m = new Map();
      const a = m.get(e.model_tier) ?? emptySums();
      addSums(a, x, growth(e.timestampMs));
      m.set(e.model_tier, a);
    }
    pending = [];
  };
  const total = executions.length;
  let scored = 0;
  let withP = 0;
  let withVector = 0;
  let answered = 0;
  let largest: string | null = null;
  let cheapest: string | null = null;
  for (let i = 0; i < total; i++) {
    const e = executions[i]!;
    // Only strictly earlier executions are visible: same-timestamp ones join after all are decided.
    if (e.timestampMs !== pendingAt) {
      commit();
      pendingAt = e.timestampMs;
    }
    pending.push(e);
    if (i % 2000 === 0) {
      o.onProgress?.(i, total);
      // Let the server's other work (ingest, queries) run between slices of a long replay.
      await new Promise((r) => setImmediate(r));
    }
    if (!e.scored || history.empty) continue;
    const neighbours: Neighbour[] = [];
    if (e.vector >= 0) {
      withVector++;
      const ids = lists.ids[e.vector]!;
      const sims = lists.sims[e.vector]!;
      const scale = 1 / growth(e.timestampMs);
      let count = 0;
      for (let j = 0; j < ids.length && count < o.k; j++) {
        const m = seen[ids[j]!];
        if (!m) continue;
        for (const [tier, x] of m) {
          // The last group may be cut to k executions: its sums shrink in proportion.
          const take = Math.min(1, (o.k - count) / x.count);
          const nb: Neighbour = { ...emptySums(), tier, similarity: sims[j]! };
          addSums(nb, x, scale * take);
          nb.count = Math.round(x.count * take);
          neighbours.push(nb);
        }
        for (const x of m.values()) count += x.count;
      }
    }
    const levels = history.levels(e.repo, history.hasTaskType(e.task_type) ? e.task_type : null, e.timestampMs);
    const ps: TierPosterior[] = posteriors(history.tiers(), levels, neighbours, s);
    if (ps.length === 0) continue;
    scored++;
    if (e.routing_propensity !== null) withP++;
    byTypeCount.set(e.task_type, (byTypeCount.get(e.task_type) ?? 0) + 1);
    // The direct method's model: the posterior mean and expected cost of every tier.
    const model = new Map(ps.map((p) => [p.tier, { s: posteriorMean(p), c: p.cost }]));
    // Largest: the tier with the highest global cost; cheapest: the lowest (ps is sorted by cost).
    const globalCost = (t: TierPosterior) => { const g = levels.global.get(t.tier); return g && g.n > 0 ? g.cost / g.n : t.cost; };
    const byGlobal = [...ps].sort((a, b) => globalCost(a) - globalCost(b));
    cheapest = byGlobal[0]!.tier;
    largest = byGlobal.at(-1)!.tier;
    const choices: [string, string][] = [
      ['logged', e.model_tier],
      ['always-largest', largest],
      ['always-cheapest', cheapest],
    ];
    for (const c of confidences) {
      const d = decide(ps, { ...DEFAULT_DECIDE, targets: o.targets, confidence: c }, false, rng);
      if (d.tier) choices.push([c === o.confidence ? 'router' : `router@${c}`, d.tier]);
    }
    answered++;
    for (const [name, tier] of choices) {
      if (!model.has(tier)) model.set(tier, { s: 0, c: 0 });
      const p = policy(name);
      p.all.add(tier, e, model);
      let t = p.byType.get(e.task_type);
      if (!t) p.byType.set(e.task_type, (t = new Acc()));
      t.add(tier, e, model);
    }
  }
  commit();
  o.onProgress?.(total, total);
  const out = new Map<string, { all: PolicyValue; byType: Map<string, PolicyValue> }>();
  for (const [name, p] of policies) out.set(name, { all: p.all.value(), byType: new Map([...p.byType].map(([t, a]) => [t, a.value()])) });
  return { scored, withPropensity: withP, withVector, policies: out, byTypeCount, largest, cheapest, answered };
}

/** The headline estimate of a policy: doubly robust where propensities were logged, else the direct method. */
export function headline(v: PolicyValue, logged: boolean): { success: number; cost: number; method: 'doubly_robust' | 'direct_method' | 'observed' } {
  if (logged && v.dr_success !== null && v.dr_cost !== null) return { success: v.dr_success, cost: v.dr_cost, method: 'doubly_robust' };
  return { success: v.dm_success, cost: v.dm_cost, method: 'direct_method' };
}
