// npm run bench:routing [-- --tasks 600 --seed 1 --params confidence=0.6 --only static,loop --policies bayes,explore]
//
// The router in a closed loop against a running `orb-learn serve` (issue 11 §6). A world from the
// dev set: each group is a kind of task with a true success rate per tier from one of four
// difficulty profiles; costs 0.001 / 0.006 / 0.03. History: three wordings of each known kind,
// sent through the OTel SDK over OTLP; for a third of the known kinds it never tried small.
//   static: every known kind asked once in its fourth wording, every new kind once; nothing learnt.
//   closed loop: T tasks (70% a known kind's fourth wording, 30% a new kind in any wording); each
//     asks the server, its outcome is drawn from the true rate and sent back over OTLP with the
//     recommendation id and propensity. One fresh server per policy; common random numbers.
// Policies: always-large, always-small, oracle (cheapest tier with true rate ≥ target), legacy
// (the previous recommend), bayes (exploit), bayes + exploration. `--only debug` prints what
// recommend sees (posteriors, neighbour weights, top cosines) for a few kinds; `--only purity` how
// much of the kernel's weight is the task's own wordings; `--only ceiling` the static world decided
// with perfect retrieval (the served posterior and choice, in process); `--only cv` the defaults
// cross-validated over kinds.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { recordExecution } from '../src/emit/index.js';
import { mulberry32 } from '../src/synth/generate.js';
import { decide, DEFAULT_DECIDE, sampler } from '../src/query/router/decide.js';
import { addSums, DEFAULT_ROUTER_SETTINGS, emptySums, posteriors, recency, type TierSums } from '../src/query/router/posterior.js';
import { DEV_EVAL_SET, readEvalSet } from './eval-set.js';
import { spawnServe, type ServeProcess } from '../test/helpers/process.js';
import { tempDir } from '../test/helpers/server.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '600' },
    seed: { type: 'string', default: '1' },
    eval: { type: 'string', default: DEV_EVAL_SET },
    'per-wording': { type: 'string', default: '24' },
    batch: { type: 'string', default: '10' },
    only: { type: 'string', default: '' },
    /** Extra recommend parameters for the bayes policies, k=v,k2=v2 (e.g. min_similarity=0.4). */
    params: { type: 'string', default: '' },
    /** Router policies to run, of legacy, bayes, explore (the fixed baselines always run). */
    policies: { type: 'string', default: 'legacy,bayes,explore' },
    /** Static world: print each kind's pick where it is not the oracle's. */
    verbose: { type: 'boolean', default: false },
  },
});
const T = Number(values.tasks);
const PER_WORDING = Number(values['per-wording']);
const BATCH = Number(values.batch);
const TIERS = ['small', 'medium', 'large'] as const;
type Tier = (typeof TIERS)[number];
const COST: Record<Tier, number> = { small: 0.001, medium: 0.006, large: 0.03 };
const TARGET = 0.8;
const PROFILES: Record<string, Record<Tier, number>> = {
  easy: { small: 0.95, medium: 0.97, large: 0.98 },
  'needs-medium': { small: 0.5, medium: 0.88, large: 0.95 },
  'needs-large': { small: 0.3, medium: 0.55, large: 0.92 },
  'small-nearly-enough': { small: 0.74, medium: 0.9, large: 0.95 },
};
const TYPES = ['feature', 'fix', 'refactor'];

interface Kind {
  group: string;
  texts: string[];
  profile: string;
  rate: Record<Tier, number>;
  taskType: string;
  known: boolean;
  /** The history never ran this kind on small. */
  untriedSmall: boolean;
  oracle: Tier;
}

const rng = mulberry32(Number(values.seed));
const groups = readEvalSet(values.eval).groups.map((g) => ({ g, r: rng() })).sort((a, b) => a.r - b.r).map((x) => x.g);
const profileNames = Object.keys(PROFILES);
// Kinds come in blocks of four, one of each profile; two blocks in nine are new kinds, one in three
// of the known blocks never ran small. Profiles, novelty, task types and untried tiers are crossed,
// so that no profile is only new or only of one task type (an earlier world made every new kind
// small-nearly-enough and every never-tried-small kind a feature).
const kinds: Kind[] = groups.map((g, i) => {
  const block = Math.floor(i / 4);
  const profile = profileNames[i % profileNames.length]!;
  const rate = PROFILES[profile]!;
  const known = block % 9 !== 2 && block % 9 !== 6;
  return {
    group: g.group,
    texts: g.texts,
    profile,
    rate,
    taskType: TYPES[(i + block) % TYPES.length]!,
    known,
    untriedSmall: known && block % 3 === 0,
    oracle: TIERS.find((t) => rate[t] >= TARGET) ?? 'large',
  };
});
const known = kinds.filter((k) => k.known);
const fresh = kinds.filter((k) => !k.known);

// ------------------------------------------------------------------------------------------------
// Talking to the server: OTLP out through the SDK, recommend in over HTTP.

interface Outcome {
  kind: Kind;
  text: string;
  tier: Tier;
  success: boolean;
  at: Date;
  recommendationId?: string;
  propensity?: number;
}

class Client {
  private readonly provider: BasicTracerProvider;
  sent = 0;
  /** Which kind each execution sent was of, by task id (the purity diagnostic). */
  readonly kindOf = new Map<string, Kind>();
  readonly latencies: number[] = [];

  constructor(readonly serve: ServeProcess) {
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'bench-router' }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `http://${serve.grpcAddress}` }), { maxExportBatchSize: 512, scheduledDelayMillis: 50 })],
    });
  }

  send(o: Outcome, noise: number): void {
    const span = this.provider.getTracer('bench').startSpan(`agent.${o.kind.taskType}`, { startTime: o.at });
    const taskId = randomUUID();
    this.kindOf.set(taskId, o.kind);
    recordExecution(span, {
      task_id: taskId,
      timestamp: o.at,
      task_type: o.kind.taskType,
      task_description: o.text,
      repo: 'bench/app',
      model_tier: o.tier,
      pool_type: 'bench',
      routing_confidence: 0.5,
      success: o.success,
      duration_seconds: 30,
      quality_score: o.success ? 85 : null,
      cost_estimate: COST[o.tier],
      actual_cost: COST[o.tier] * noise,
      recommendation_id: o.recommendationId ?? null,
      routing_propensity: o.propensity ?? null,
    });
    span.end(new Date(o.at.getTime() + 30_000));
    this.sent++;
  }

  /** Flushes the exporter, then waits until the server has stored and embedded everything sent. */
  async settle(): Promise<void> {
    await this.provider.forceFlush();
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const res = await fetch(`${this.serve.httpUrl}/v1/embeddings`).catch(() => null);
      if (res?.ok) {
        const c = (await res.json()) as { executions: number; missing: number };
        if (c.executions >= this.sent && c.missing === 0) return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server did not store and embed ${this.sent} executions within 120 s`);
  }

  async recommend(text: string, taskType: string, extra: Record<string, string>): Promise<{ tier: Tier | null; id?: string; propensity?: number; explored?: boolean; basis?: string }> {
    const qs = new URLSearchParams({ text, task_type: taskType, quality_target: '0', ...extra });
    const t0 = performance.now();
    const res = await fetch(`${this.serve.httpUrl}/v1/query/recommend?${qs}`);
    this.latencies.push(performance.now() - t0);
    if (!res.ok) throw new Error(`recommend: HTTP ${res.status} ${await res.text()}`);
    const a = ((await res.json()) as { answer: Record<string, unknown> }).answer;
    return { tier: (a.recommended_tier as Tier | null) ?? null, id: a.recommendation_id as string, propensity: a.propensity as number, explored: a.explored as boolean, basis: a.basis as string };
  }

  async close(): Promise<void> {
    await this.provider.shutdown();
    this.serve.child.kill('SIGTERM');
    await this.serve.exited;
  }
}

/** The seeded history: three wordings of each known kind, PER_WORDING runs each, 1–21 days old. */
function historyOutcomes(now: number): { o: Outcome; noise: number }[] {
  const h = mulberry32(Number(values.seed) * 7 + 1);
  const out: { o: Outcome; noise: number }[] = [];
  for (const k of known) {
    for (const text of k.texts.slice(0, 3)) {
      for (let j = 0; j < PER_WORDING; j++) {
        const tiers = k.untriedSmall ? (['medium', 'large'] as const) : TIERS;
        const tier = tiers[j % tiers.length]!;
        const at = new Date(now - (1 + h() * 20) * 86_400_000);
        out.push({ o: { kind: k, text, tier, success: h() < k.rate[tier], at }, noise: 0.9 + 0.2 * h() });
      }
    }
  }
  return out;
}

async function startWithHistory(dir: string, args: string[] = []): Promise<Client> {
  const serve = await spawnServe(['--db', join(dir, 'bench.duckdb'), '--snapshot-interval', '0', ...args], { ORB_EMBED: 'true' });
  const c = new Client(serve);
  for (const { o, noise } of historyOutcomes(Date.now())) c.send(o, noise);
  await c.settle();
  return c;
}

// ------------------------------------------------------------------------------------------------
// Scoring

interface Score {
  answered: number;
  calls: number;
  cost: number;
  success: number;
}
const score = (picks: { kind: Kind; tier: Tier | null }[]): Score => {
  const s = { answered: 0, calls: picks.length, cost: 0, success: 0 };
  for (const p of picks) {
    const tier = p.tier ?? 'large'; // an unanswered call: the router falls back to the largest tier
    if (p.tier) s.answered++;
    s.cost += COST[tier];
    s.success += p.kind.rate[tier];
  }
  return { ...s, cost: s.cost / picks.length, success: s.success / picks.length };
};
const fixed = (ks: Kind[], f: (k: Kind) => Tier) => score(ks.map((k) => ({ kind: k, tier: f(k) })));
const f4 = (x: number) => x.toFixed(4);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function staticRow(name: string, s: Score, large: Score, oracle: Score): string {
  const saving = (large.cost - s.cost) / (large.cost - oracle.cost);
  return `| ${name} | ${s.answered}/${s.calls} | ${f4(s.cost)} | ${f4(s.success)} | ${f4(s.success - oracle.success)} | ${pct(saving)} |`;
}

const only = new Set(values.only.split(',').filter(Boolean));
const want = (p: string) => only.size === 0 || only.has(p);
const load = () => `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;

console.log(`# bench:routing — ${new Date().toISOString()}, ${kinds.length} kinds (${known.length} known, ${fresh.length} new), ${known.length * 3 * PER_WORDING} history executions, target success ≥ ${TARGET}, ${load()}`);
console.log(`profiles: ${Object.entries(PROFILES).map(([n, r]) => `${n} ${TIERS.map((t) => r[t]).join('/')}`).join('; ')}`);

/** The defaults docs/routing.md names, looked up in the CV grid (--only cv). */
const DEFAULTS_UNDER_TEST: Record<string, string> = { kernel_width: '0.05', confidence: '0.7', prior_strength: '4', min_similarity: '0.5' };
const tuned = Object.fromEntries(values.params.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
const policies = new Set(values.policies.split(',').filter(Boolean));
const strategies: [string, Record<string, string>][] = (
  [
    ['legacy', 'legacy (previous recommend)', { strategy: 'legacy' }],
    ['bayes', 'bayes', { mode: 'exploit', ...tuned }],
  ] as const
)
  .filter(([key]) => policies.has(key))
  .map(([, name, extra]) => [name, extra]);

// ---- debugging: what recommend sees for a few kinds
if (only.has('debug')) {
  const dir = tempDir('orb-bench-routing-');
  const c = await startWithHistory(dir);
  for (const k of known.slice(0, 6)) {
    const qs = new URLSearchParams({ text: k.texts[3]!, task_type: k.taskType, quality_target: '0', ...Object.fromEntries(Object.entries(process.env).filter(([n]) => n.startsWith('P_')).map(([n, v]) => [n.slice(2), v!])) });
    const r = (await (await fetch(`${c.serve.httpUrl}/v1/query/recommend?${qs}`)).json()) as { answer: Record<string, unknown>; rows: Record<string, unknown>[] };
    const sim = (await (await fetch(`${c.serve.httpUrl}/v1/query/similar?${new URLSearchParams({ text: k.texts[3]!, threshold: '0', limit: '100' })}`)).json()) as { rows: Record<string, unknown>[] };
    const own = new Set(k.texts.slice(0, 3));
    console.log(k.group, k.profile, 'oracle', k.oracle, 'untriedSmall', k.untriedSmall, '->', r.answer.recommended_tier, r.answer.basis, JSON.stringify(r.answer.evidence));
    for (const row of r.rows) console.log('   ', row.model_tier, 'mean', row.success_rate, 'P', row.p_meets_targets, 'w', row.similar_weight, 'n', row.similar_executions, 'prior', row.prior_mean);
    const seen = new Map<string, number>();
    for (const x of sim.rows) seen.set(String(x.task_id), Number(x.similarity));
    console.log('    top sims', [...new Set(sim.rows.map((x) => Number(x.similarity)))].slice(0, 8).join(' '));
    void own;
  }
  await c.close();
}

// ---- evidence purity: for each known kind's held-out wording, the share of a kernel's weight that
// falls on the kind's own texts (the rest is other kinds), and whether the best match is its own;
// for the kernel over the cosine and over the hybrid score, at a few widths. --only purity
if (only.has('purity')) {
  const dir = tempDir('orb-bench-routing-');
  const c = await startWithHistory(dir);
  const taus = [0.02, 0.05, 0.1];
  const sums = new Map<string, { share: number; top1: number }>();
  for (const k of known) {
    const qs = new URLSearchParams({ text: `${k.taskType}: ${k.texts[3]!}`, threshold: tuned.min_similarity ?? '0.5', limit: '1000' });
    const sim = (await (await fetch(`${c.serve.httpUrl}/v1/query/similar?${qs}`)).json()) as { rows: Record<string, unknown>[] };
    // One entry per text: the executions of one text share a vector, hence a cosine.
    const entries = new Map<string, { cos: number; score: number; kind: Kind }>();
    for (const x of sim.rows) entries.set(Number(x.similarity).toFixed(4), { cos: Number(x.similarity), score: Number(x.score ?? x.similarity), kind: c.kindOf.get(String(x.task_id))! });
    const list = [...entries.values()];
    const line: string[] = [];
    for (const by of ['cos', 'score'] as const) {
      const sorted = [...list].sort((a, b) => b[by] - a[by]);
      const best = sorted[0]?.[by] ?? 0;
      for (const tau of taus) {
        let own = 0;
        let all = 0;
        for (const e of sorted) {
          const w = Math.exp(-(best - e[by]) / tau);
          all += w;
          if (e.kind === k) own += w;
        }
        const key = `${by} τ ${tau}`;
        const acc = sums.get(key) ?? { share: 0, top1: 0 };
        acc.share += all > 0 ? own / all : 0;
        acc.top1 += sorted[0]?.kind === k ? 1 : 0;
        sums.set(key, acc);
        if (tau === 0.05) line.push(`${by} ${(all > 0 ? own / all : 0).toFixed(2)}`);
      }
      if (values.verbose) line.push(`top by ${by}: ${sorted.slice(0, 4).map((e) => `${e.kind === k ? 'OWN' : e.kind.group}:${e[by].toFixed(3)}`).join(' ')}`);
    }
    if (values.verbose) console.log(`- ${k.group} (${k.profile}): own share ${line.join('; ')}`);
  }
  // New kinds have no texts of their own: how similar is their best match, against known kinds' best own match?
  const bests = async (ks: Kind[], text: (k: Kind) => string) => {
    const out: { cos: number; score: number }[] = [];
    for (const k of ks) {
      const qs = new URLSearchParams({ text: `${k.taskType}: ${text(k)}`, threshold: '0', limit: '1' });
      const r = ((await (await fetch(`${c.serve.httpUrl}/v1/query/similar?${qs}`)).json()) as { rows: Record<string, unknown>[] }).rows[0];
      if (r) out.push({ cos: Number(r.similarity), score: Number(r.score ?? r.similarity) });
    }
    const q = (xs: number[], f: number) => xs.sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))]!.toFixed(3);
    return (['cos', 'score'] as const).map((by) => `${by} min/median/max ${q(out.map((x) => x[by]), 0)} / ${q(out.map((x) => x[by]), 0.5)} / ${q(out.map((x) => x[by]), 1)}`).join('; ');
  };
  console.log(`\nbest match, known kinds' held-out wording: ${await bests(known, (k) => k.texts[3]!)}`);
  console.log(`best match, new kinds (all four wordings): ${await bests(fresh.flatMap((k) => k.texts.map(() => k)), ((i) => (k: Kind) => k.texts[i++ % 4]!)(0))}`);
  console.log('\n## evidence purity: mean share of the kernel weight on the kind\'s own texts, best match its own\n');
  for (const [key, v] of sums) console.log(`- ${key}: own share ${(v.share / known.length).toFixed(3)}, best match own ${v.top1}/${known.length}`);
  await c.close();
  rmSync(dir, { recursive: true, force: true });
}

// ---- retrieval ceiling: the static world decided in process by the served posterior and choice,
// with perfect retrieval: a kind's neighbours are exactly its own history, all of equal similarity;
// the levels are the whole history. What recommend would pick if `similar` always found the task's
// own wordings and nothing else. --only ceiling [--params confidence=0.6,prior_strength=4]
if (only.has('ceiling')) {
  const now = Date.now();
  const s = { ...DEFAULT_ROUTER_SETTINGS, priorStrength: Number(tuned.prior_strength ?? DEFAULT_ROUTER_SETTINGS.priorStrength) };
  const confidence = Number(tuned.confidence ?? DEFAULT_DECIDE.confidence);
  const hist = historyOutcomes(now).map(({ o, noise }) => {
    const w = recency((now - o.at.getTime()) / 86_400_000, s.halfLifeDays);
    return { o, x: { tier: o.tier, similarity: 0.9, n: w, s: o.success ? w : 0, q: o.success ? 85 * w : 0, qn: o.success ? w : 0, cost: w * COST[o.tier] * noise, estimate: 0, count: 1 } };
  });
  const levelOf = (xs: typeof hist) => {
    const m = new Map<string, TierSums>();
    for (const { x } of xs) {
      if (!m.has(x.tier)) m.set(x.tier, emptySums());
      addSums(m.get(x.tier)!, x);
    }
    return m;
  };
  const global = levelOf(hist);
  const picks = known.map((k) => {
    const ps = posteriors(TIERS, { global, repo: null, taskType: levelOf(hist.filter((h) => h.o.kind.taskType === k.taskType)) }, hist.filter((h) => h.o.kind === k).map((h) => h.x), s);
    return { kind: k, tier: decide(ps, { ...DEFAULT_DECIDE, targets: { success: TARGET, quality: 0 }, confidence }, false, sampler(1)).tier as Tier | null };
  });
  const large = fixed(known, () => 'large');
  const oracle = fixed(known, (k) => k.oracle);
  console.log(`\n## retrieval ceiling: known kinds decided on their own history only (confidence ${confidence}, κ ${s.priorStrength})\n`);
  console.log('| policy | answered | mean cost | expected success | vs oracle | share of oracle saving vs large |');
  console.log('|---|---|---|---|---|---|');
  console.log(staticRow('bayes, perfect retrieval', score(picks), large, oracle));
}

// ---- cross-validated defaults: one server, every known kind's held-out wording and every new kind
// asked under each setting of a small grid; kinds (groups) split into folds, the setting chosen on the other
// folds (the issue's targets) is scored on the held-out one. Run with --only cv.
if (only.has('cv')) {
  const dir = tempDir('orb-bench-routing-');
  const c = await startWithHistory(dir);
  const calls = [...known.map((k) => ({ kind: k, text: k.texts[3]! })), ...fresh.map((k) => ({ kind: k, text: k.texts[0]! }))];
  const grid: Record<string, string>[] = [];
  for (const kernel_width of ['0.05', '0.1', '0.2'])
    for (const confidence of ['0.6', '0.7', '0.8'])
      for (const prior_strength of ['2', '4', '8'])
        for (const min_similarity of ['0.44', '0.5']) grid.push({ kernel_width, confidence, prior_strength, min_similarity, k: values.params.match(/k=(\d+)/)?.[1] ?? '500' });
  const regret = (k: Kind, t: Tier) => Math.max(0, k.rate[k.oracle] - k.rate[t]) + Math.max(0, COST[t] - COST[k.oracle]) / COST.large;
  const picks: Tier[][] = [];
  for (const g of grid) {
    const row: Tier[] = [];
    for (const x of calls) row.push((await c.recommend(x.text, x.kind.taskType, { mode: 'exploit', ...g })).tier ?? 'large');
    picks.push(row);
  }
  const FOLDS = 4;
  const fold = calls.map((_, i) => i % FOLDS);
  const chosen: number[] = [];
  const heldOut: Tier[] = new Array(calls.length);
  for (let f = 0; f < FOLDS; f++) {
    const train = calls.map((_, i) => i).filter((i) => fold[i] !== f);
    // The issue's targets as the criterion: the cheapest setting whose success on the training kinds
    // is within 0.01 of the oracle's; the most successful one if none is.
    const oracleS = train.reduce((a, i) => a + calls[i]!.kind.rate[calls[i]!.kind.oracle], 0) / train.length;
    const of = (row: Tier[]) => ({ cost: train.reduce((a, i) => a + COST[row[i]!], 0) / train.length, success: train.reduce((a, i) => a + calls[i]!.kind.rate[row[i]!], 0) / train.length });
    let best = 0;
    picks.forEach((row, gi) => {
      const a = of(row);
      const b = of(picks[best]!);
      const okA = a.success >= oracleS - 0.01;
      const okB = b.success >= oracleS - 0.01;
      if ((okA && !okB) || (okA && okB && a.cost < b.cost - 1e-12) || (!okA && !okB && a.success > b.success + 1e-12)) best = gi;
    });
    chosen.push(best);
    calls.forEach((_, i) => { if (fold[i] === f) heldOut[i] = picks[best]![i]!; });
  }
  const summary = (name: string, ts: Tier[], idx: number[]) => {
    const ks = idx.map((i) => calls[i]!.kind);
    const large = fixed(ks, () => 'large');
    const oracle = fixed(ks, (k) => k.oracle);
    return staticRow(name, score(idx.map((i) => ({ kind: calls[i]!.kind, tier: ts[i]! }))), large, oracle) + ` ${(idx.reduce((a, i) => a + regret(calls[i]!.kind, ts[i]!), 0) / idx.length).toFixed(4)} |`;
  };
  const knownIdx = calls.map((_, i) => i).filter((i) => calls[i]!.kind.known);
  const freshIdx = calls.map((_, i) => i).filter((i) => !calls[i]!.kind.known);
  console.log(`\n## cross-validation: ${grid.length} settings, ${FOLDS} folds over ${calls.length} kinds (cheapest with success within 0.01 of the oracle's on the other folds)\n`);
  chosen.forEach((gi, f) => console.log(`- fold ${f}: ${Object.entries(grid[gi]!).map(([k, v]) => `${k}=${v}`).join(' ')}`));
  console.log('\n| policy | answered | mean cost | expected success | vs oracle | share of oracle saving vs large | mean regret |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [label, idx] of [['known kinds, held-out wording', knownIdx], ['new kinds', freshIdx]] as const) {
    console.log(summary(`CV (held-out folds), ${label}`, heldOut, idx));
    const def = grid.findIndex((g) => Object.entries(DEFAULTS_UNDER_TEST).every(([k, v]) => g[k] === v));
    if (def >= 0) console.log(summary(`served defaults, ${label}`, picks[def]!, idx));
  }
  await c.close();
  rmSync(dir, { recursive: true, force: true });
}

// ---- static world
if (want('static')) {
  const dir = tempDir('orb-bench-routing-');
  const c = await startWithHistory(dir);
  for (const [label, ks] of [['held-out wording of known kinds', known], ['new kinds (no history)', fresh]] as const) {
    const large = fixed(ks, () => 'large');
    const oracle = fixed(ks, (k) => k.oracle);
    console.log(`\n## static: ${label} (${ks.length} calls)\n`);
    console.log('| policy | answered | mean cost | expected success | vs oracle | share of oracle saving vs large |');
    console.log('|---|---|---|---|---|---|');
    console.log(staticRow('always-large', large, large, oracle));
    console.log(staticRow('always-small', fixed(ks, () => 'small'), large, oracle));
    console.log(staticRow('oracle', oracle, large, oracle));
    for (const [name, extra] of strategies) {
      const picks = [];
      for (const k of ks) picks.push({ kind: k, tier: (await c.recommend(k.texts[3]!, k.taskType, extra)).tier });
      if (values.verbose) for (const p of picks) if (p.tier !== p.kind.oracle) console.log(`- ${name}: ${p.kind.group} (${p.kind.profile}${p.kind.untriedSmall ? ', small never tried' : ''}) picked ${p.tier}, oracle ${p.kind.oracle}`);
      console.log(staticRow(name, score(picks), large, oracle));
    }
  }
  const lat = [...c.latencies].sort((a, b) => a - b);
  console.log(`\nrecommend over HTTP, ${lat.length} calls on ${c.sent} executions: p50 ${lat[Math.floor(lat.length / 2)]!.toFixed(1)} ms, p95 ${lat[Math.floor(lat.length * 0.95)]!.toFixed(1)} ms`);
  await c.close();
  rmSync(dir, { recursive: true, force: true });
}

// ---- closed loop
if (want('loop')) {
  const arrivals = mulberry32(Number(values.seed) * 13 + 5);
  const tasks = Array.from({ length: T }, () => {
    const newKind = arrivals() < 0.3;
    const kind = newKind ? fresh[Math.floor(arrivals() * fresh.length)]! : known[Math.floor(arrivals() * known.length)]!;
    const text = newKind ? kind.texts[Math.floor(arrivals() * 4)]! : kind.texts[3]!;
    return { kind, text, u: arrivals(), noise: 0.9 + 0.2 * arrivals() };
  });
  const regretOf = (k: Kind, t: Tier) => Math.max(0, k.rate[k.oracle] - k.rate[t]) + Math.max(0, COST[t] - COST[k.oracle]) / COST.large;
  const quarters = [0.25, 0.5, 0.75, 1].map((f) => Math.round(f * T));
  // Regret ∝ T^a: a is the least-squares slope of log regret on log t over ten checkpoints (10% … 100%).
  const checkpoints = Array.from({ length: 10 }, (_, i) => Math.round(((i + 1) / 10) * T));
  const growth = (ts: number[], rs: number[]) => {
    const xs = ts.map(Math.log);
    const ys = rs.map((r) => Math.log(Math.max(r, 1e-9)));
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    return xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  };
  const rows: string[] = [];
  const discovery: string[] = [];
  const report = (name: string, picks: { kind: Kind; tier: Tier | null; explored?: boolean }[]) => {
    let regret = 0;
    const atQuarter: number[] = [];
    const atCheck: number[] = [];
    picks.forEach((p, i) => {
      regret += regretOf(p.kind, p.tier ?? 'large');
      if (quarters.includes(i + 1)) atQuarter.push(regret);
      if (checkpoints.includes(i + 1)) atCheck.push(regret);
    });
    const perQuarter = atQuarter.map((r, i) => r - (i ? atQuarter[i - 1]! : 0));
    const s = score(picks);
    const explored = picks.filter((p) => p.explored).length;
    const a = regret > 0 ? growth(checkpoints, atCheck).toFixed(2) : '–';
    rows.push(`| ${name} | ${s.answered}/${s.calls} | ${f4(s.cost * T)} | ${f4(s.success)} | ${perQuarter.map((x) => x.toFixed(1)).join(' / ')} | ${regret.toFixed(1)} | ${a} | ${explored} (${pct(explored / T)}) |`);
    // Kinds whose history never tried small: in the last quarter, did the loop find small where it is
    // adequate, and how often did it still try small where it is not?
    const late = picks.slice(Math.round(0.75 * T)).filter((p) => p.kind.untriedSmall);
    const easy = late.filter((p) => p.kind.oracle === 'small');
    const hard = late.filter((p) => p.kind.oracle !== 'small');
    const chose = (xs: typeof late) => `${xs.filter((p) => p.tier === 'small').length}/${xs.length}`;
    if (late.length) discovery.push(`${name}: last quarter, never-tried-small kinds: small chosen ${chose(easy)} calls where small is adequate, ${chose(hard)} where it is not`);
    // Where the regret comes from: known kinds (their fourth wording) and new kinds, by profile.
    const by = new Map<string, number>();
    for (const p of picks) {
      const key = `${p.kind.known ? 'known' : 'new'} ${p.kind.profile}`;
      by.set(key, (by.get(key) ?? 0) + regretOf(p.kind, p.tier ?? 'large'));
    }
    discovery.push(`${name}: regret by kind: ${[...by.entries()].sort().map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  };
  report('always-large', tasks.map((t) => ({ kind: t.kind, tier: 'large' as Tier })));
  report('always-small', tasks.map((t) => ({ kind: t.kind, tier: 'small' as Tier })));
  report('oracle', tasks.map((t) => ({ kind: t.kind, tier: t.kind.oracle })));
  const loops: [string, Record<string, string>][] = [...strategies, ...(policies.has('explore') ? [['bayes + exploration (λ 0.5, share ≤ 0.1)', { mode: 'explore', ...tuned }] as [string, Record<string, string>]] : [])];
  for (const [name, extra] of loops) {
    const dir = tempDir('orb-bench-routing-');
    const c = await startWithHistory(dir);
    const picks: { kind: Kind; tier: Tier | null; explored?: boolean }[] = [];
    const t0 = performance.now();
    for (let i = 0; i < T; i++) {
      const t = tasks[i]!;
      const r = await c.recommend(t.text, t.kind.taskType, extra);
      picks.push({ kind: t.kind, tier: r.tier, explored: r.explored });
      const tier = r.tier ?? 'large';
      c.send({ kind: t.kind, text: t.text, tier, success: t.u < t.kind.rate[tier], at: new Date(), recommendationId: r.id, propensity: r.propensity }, t.noise);
      if ((i + 1) % BATCH === 0) await c.settle();
    }
    const seconds = (performance.now() - t0) / 1000;
    const lat = [...c.latencies].sort((a, b) => a - b);
    report(`${name} (recommend p50 ${lat[Math.floor(lat.length / 2)]!.toFixed(1)} / p95 ${lat[Math.floor(lat.length * 0.95)]!.toFixed(1)} ms, ${seconds.toFixed(0)} s)`, picks);
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\n## closed loop: ${T} tasks, outcomes sent back every ${BATCH}\n`);
  console.log(`| policy | answered | cumulative cost | expected success | regret per quarter (${quarters.join(' / ')}) | cumulative regret | growth a (regret ∝ T^a) | explored |`);
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('\nregret per call = max(0, oracle rate − chosen rate) + max(0, chosen cost − oracle cost)/cost(large)');
  for (const d of discovery) console.log(`- ${d}`);
}
console.log(`\n${load()}`);
