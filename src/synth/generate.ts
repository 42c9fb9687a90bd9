// A pure, seeded generator of realistic ExecutionRows for benchmarks and demos (`orb-learn synth`).
// The same seed and `now` give the same rows. Rows come in ascending time order, in chunks, so a
// million never sit in memory at once. The ground truth (catalog.ts) is learnable in aggregate:
// success, quality, cost and duration depend on task type × tier, with noise.
import { Buffer } from 'node:buffer';
import { ExecutionRow } from '../convert/record.js';
import { firstIssue } from '../convert/issues.js';
import {
  COMPLEXITY_SENSITIVITY,
  COST_BIAS,
  COST_PER_1K_TOKENS,
  ERROR_MESSAGES,
  FILLERS,
  HOURLY_ACTIVITY,
  MODULES,
  POOLS,
  REPOS,
  SERVICES,
  TASK_TYPES,
  TIERS,
  TIER_SLOWNESS,
  TOPOLOGIES,
  TOPOLOGY_BONUS,
  WEEKEND_ACTIVITY,
  type PoolSpec,
  type RepoSpec,
  type TaskTypeSpec,
  type Tier,
} from './catalog.js';

export interface GenerateOptions {
  rows: number;
  /** The window: rows fall in the last `days` days before `now` (default 90). */
  days?: number;
  seed?: number;
  /** End of the window (default: the current time). Fix it for repeatable output. */
  now?: Date | number;
  /** Rows per yielded chunk (default 10,000). */
  chunkSize?: number;
  /** Check rows against the zod ExecutionRow schema: every row, one in 1,000 (default), or none. */
  validate?: 'all' | 'sample' | 'none';
}

// ---------------------------------------------------------------------------------------------
// Randomness

/** mulberry32: a fast 32-bit seeded PRNG, uniform on [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private spare: number | null = null;
  constructor(readonly next: () => number) {}

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** exp(N(log(median), sigma)). */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  private readonly idBytes = Buffer.allocUnsafe(40);

  /** A v4 task UUID, a 16-byte trace id and an 8-byte span id, as lowercase hex. */
  ids(): { taskId: string; traceId: string; spanId: string } {
    const b = this.idBytes;
    for (let i = 0; i < 40; i += 4) b.writeUInt32LE((this.next() * 4294967296) >>> 0, i);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const hex = b.toString('hex');
    return {
      taskId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`,
      traceId: hex.slice(32, 64),
      spanId: hex.slice(64, 80),
    };
  }
}

/** Picks by weight (cumulative table, linear scan: the lists are short). */
class Picker<T> {
  private readonly cum: number[];
  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    let s = 0;
    this.cum = weights.map((w) => (s += w));
    this.cum = this.cum.map((c) => c / s);
  }
  pick(rng: Rng): T {
    const u = rng.next();
    const cum = this.cum;
    for (let i = 0; i < cum.length - 1; i++) if (u < cum[i]!) return this.items[i]!;
    return this.items[this.items.length - 1]!;
  }
}

const zipf = (n: number, s: number) => Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
const zipfPicker = <T>(items: readonly T[], s: number) => new Picker(items, zipf(items.length, s));

const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);
const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

// ---------------------------------------------------------------------------------------------
// The world, prepared once (independent of the seed, so every seed shares one vocabulary)

interface Template {
  /** Literal parts around the fillers: parts[0] filler[0] parts[1] ... */
  parts: string[];
  fillers: string[];
  /** The solutions tasks of this template end with (a window of the type's summaries), the first most often. */
  summaries: Picker<string>;
  /** The same window, reversed: what a failed attempt had tried. Some patterns work better than others. */
  failedSummaries: Picker<string>;
}

interface TypeModel {
  spec: TaskTypeSpec;
  templates: Template[];
  templatePicker: Picker<Template>;
  routing: Picker<Tier>;
}

interface RepoModel {
  spec: RepoSpec;
  types: Picker<TypeModel>;
  modules: Picker<string>;
  pool: PoolSpec;
}

function parseTemplate(s: string, window: string[]): Template {
  const pieces = s.split(/\{(\w+)\}/);
  const parts: string[] = [];
  const fillers: string[] = [];
  pieces.forEach((p, i) => (i % 2 === 0 ? parts.push(p) : fillers.push(p)));
  for (const f of fillers) if (f !== 'module' && !FILLERS[f]) throw new Error(`template ${JSON.stringify(s)}: unknown filler {${f}}`);
  return { parts, fillers, summaries: zipfPicker(window, 1), failedSummaries: zipfPicker([...window].reverse(), 1) };
}

interface World {
  types: TypeModel[];
  repos: Picker<RepoModel>;
  pools: Picker<PoolSpec>;
  topologies: Picker<string | null>;
  services: Picker<string>;
  fillers: Record<string, Picker<string>>;
}

let world: World | null = null;

function buildWorld(): World {
  const fixed = new Rng(mulberry32(0x5eed));
  const types: TypeModel[] = TASK_TYPES.map((spec) => {
    const n = spec.summaries.length;
    const templates = spec.templates.map((s, k) =>
      parseTemplate(s, [0, 1, 2, 3].map((j) => spec.summaries[(2 * k + j) % n]!)),
    );
    return {
      spec,
      templates,
      templatePicker: zipfPicker(templates, 0.6),
      routing: new Picker(TIERS, TIERS.map((t) => spec.routing[t])),
    };
  });
  const repos = REPOS.map((spec, i): RepoModel => {
    // Each repo works on its own handful of modules (a fixed draw, the same for every seed).
    const modules = [...MODULES];
    for (let k = modules.length - 1; k > 0; k--) {
      const j = fixed.int(k + 1);
      [modules[k], modules[j]] = [modules[j]!, modules[k]!];
    }
    return {
      spec,
      types: new Picker(types, types.map((t) => t.spec.weight * (spec.typeBoost?.[t.spec.name] ?? 1))),
      modules: zipfPicker(modules.slice(0, 5), 0.8),
      pool: POOLS[i % POOLS.length]!,
    };
  });
  const fillers: Record<string, Picker<string>> = {};
  for (const [k, v] of Object.entries(FILLERS)) fillers[k] = zipfPicker(v, 0.7);
  return {
    types,
    repos: zipfPicker(repos, 1.0),
    pools: zipfPicker(POOLS, 0.8),
    topologies: new Picker(TOPOLOGIES.map((t) => t.name), TOPOLOGIES.map((t) => t.weight)),
    services: new Picker(SERVICES.map((s) => s.name), SERVICES.map((s) => s.weight)),
    fillers,
  };
}

// ---------------------------------------------------------------------------------------------
// Time: ascending timestamps with a daily and weekly rhythm and gentle growth

const HOUR = 3_600_000;

class Clock {
  private readonly start: number;
  private readonly end: number;
  /** Cumulative share of activity at the end of each hourly bin. */
  private readonly cum: Float64Array;
  private bin = 0;
  /** Current uniform order statistic. */
  private u = 0;
  private left: number;

  constructor(rows: number, days: number, now: number) {
    this.end = now;
    this.start = now - days * 24 * HOUR;
    const bins = Math.max(1, Math.ceil((this.end - this.start) / HOUR));
    this.cum = new Float64Array(bins);
    let s = 0;
    for (let b = 0; b < bins; b++) {
      const t0 = this.start + b * HOUR;
      const len = Math.min(HOUR, this.end - t0) / HOUR;
      const d = new Date(t0);
      const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
      const growth = 0.7 + (0.6 * b) / bins;
      s += len * HOURLY_ACTIVITY[d.getUTCHours()]! * (weekend ? WEEKEND_ACTIVITY : 1) * growth;
      this.cum[b] = s;
    }
    for (let b = 0; b < bins; b++) this.cum[b]! /= s;
    this.left = rows;
  }

  /** The next timestamp (ms), never earlier than the previous one. */
  next(rng: Rng): number {
    // The next of `left` sorted uniforms: u += (1 - u)(1 - V^(1/left)), V uniform on (0, 1].
    const v = 1 - rng.next();
    this.u += (1 - this.u) * -Math.expm1(Math.log(v) / this.left);
    this.left = Math.max(1, this.left - 1);
    const cum = this.cum;
    while (this.bin < cum.length - 1 && cum[this.bin]! < this.u) this.bin++;
    const lo = this.bin === 0 ? 0 : cum[this.bin - 1]!;
    const hi = cum[this.bin]!;
    const frac = hi > lo ? clamp((this.u - lo) / (hi - lo), 0, 1) : 0;
    const t0 = this.start + this.bin * HOUR;
    return Math.min(this.end - 1, Math.floor(t0 + frac * Math.min(HOUR, this.end - t0)));
  }
}

// ---------------------------------------------------------------------------------------------
// One execution

function describe(rng: Rng, w: World, tpl: Template, repo: RepoModel): string {
  let s = tpl.parts[0]!;
  for (let i = 0; i < tpl.fillers.length; i++) {
    const f = tpl.fillers[i]!;
    s += (f === 'module' ? repo.modules.pick(rng) : w.fillers[f]!.pick(rng)) + tpl.parts[i + 1]!;
  }
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const ERROR_KINDS = ['timeout', 'quality_gate', 'crash', 'validation', 'unknown'] as const;

function makeRow(rng: Rng, w: World, timestamp: number, seed: number): ExecutionRow {
  const repo = w.repos.pick(rng);
  const type = repo.types.pick(rng);
  const spec = type.spec;
  const pool = rng.chance(0.7) ? repo.pool : w.pools.pick(rng);
  const complexity = Math.round(clamp(spec.complexity + 12 * rng.normal(), 0, 100));
  const excess = (complexity - spec.complexity) / 100;

  // Routing: the type's prior, 30% uniform exploration, and some escalation of unusually hard tasks.
  let tierIndex = rng.chance(0.3) ? rng.int(3) : TIERS.indexOf(type.routing.pick(rng));
  if (excess > 0.12 && tierIndex < 2 && rng.chance(0.15)) tierIndex++;
  const tier = TIERS[tierIndex]!;

  let topology = w.topologies.pick(rng);
  if (topology !== null && tier === 'small' && rng.chance(0.6)) topology = null; // swarms mostly run big models

  // The truth for this run.
  const hardness = clamp((spec.complexity - 40) / 35, 0, 1);
  // Extra complexity hurts on hard task types; a long README is still a README.
  let p = spec.success[tier] - COMPLEXITY_SENSITIVITY[tier] * (0.3 + 0.7 * hardness) * excess + repo.spec.difficulty + pool.reliability;
  if (topology) p += TOPOLOGY_BONUS[topology]! * hardness;
  p = clamp(p, 0.02, 0.99);
  const success = rng.chance(p);

  const files = Math.max(1, Math.round(spec.files * Math.exp(0.6 * rng.normal() + excess * 2.5)));
  const tokens = Math.max(200, Math.round(spec.tokens * (0.6 + 0.4 * Math.sqrt(files / spec.files)) * Math.exp(0.35 * rng.normal() + excess)));

  // Duration: lognormal by type and tier; a timeout runs to its limit.
  let errorType: (typeof ERROR_KINDS)[number] | null = null;
  if (!success) {
    const r = rng.next();
    const timeoutShare = 0.12 + (tier === 'large' ? 0.12 : 0) + hardness * 0.08;
    const crashShare = pool.crashShare;
    if (r < timeoutShare) errorType = 'timeout';
    else if (r < timeoutShare + crashShare) errorType = 'crash';
    else if (r < timeoutShare + crashShare + 0.14) errorType = 'validation';
    else if (r < timeoutShare + crashShare + 0.2) errorType = 'unknown';
    else errorType = 'quality_gate';
  }
  let duration = rng.lognormal(spec.seconds * TIER_SLOWNESS[tier] * Math.exp(excess * 2.5), 0.55);
  if (errorType === 'timeout') duration = 900 + rng.next() * 5;
  else if (errorType === 'crash') duration *= 0.2 + 0.6 * rng.next();
  duration = round(duration, 3);

  // Cost: the router estimates from tokens; the run costs more, by a tier- and type-dependent bias.
  const estimate = (tokens / 1000) * COST_PER_1K_TOKENS[tier];
  let actual = estimate * (COST_BIAS[tier] + spec.costBias) * rng.lognormal(1, 0.25);
  if (errorType === 'timeout') actual *= 1.3;
  else if (errorType === 'crash') actual *= 0.5;
  const costEstimate = round(estimate * rng.lognormal(1, 0.05), 6);
  const actualCost = round(actual, 6);

  // Quality: high and tier-dependent on success; low (or absent) on failure.
  let quality: number | null;
  if (success) {
    const q = spec.quality[tier] - excess * 100 * (tier === 'small' ? 0.15 : 0.08) + 6 * rng.normal();
    quality = rng.chance(0.03) ? null : Math.round(clamp(q, 0, 100));
  } else if (errorType === 'timeout' || errorType === 'crash' || rng.chance(0.15)) {
    quality = null;
  } else {
    quality = Math.round(clamp(20 + spec.quality[tier] * 0.3 + 12 * rng.normal(), 0, 100));
  }

  const predicted = rng.chance(0.15) ? null : round(clamp(p + 0.08 * rng.normal(), 0.01, 0.99), 3);
  const confidence = round(clamp(0.45 + 0.45 * p + 0.06 * rng.normal(), 0.05, 0.99), 3);

  let userAccepted: boolean | null = null;
  if (rng.chance(0.4)) userAccepted = success ? rng.chance(clamp(((quality ?? 70) - 45) / 40, 0.05, 0.98)) : rng.chance(0.04);
  let userRating: number | null = null;
  if (rng.chance(0.2)) userRating = success ? Math.round(clamp((quality ?? 70) / 20 + 0.7 * rng.normal(), 1, 5)) : rng.chance(0.7) ? 1 : 2;

  const measured = rng.chance(0.92);
  const memory = measured ? round(rng.lognormal(pool.memoryMb * (tier === 'large' ? 1.3 : 1), 0.35), 1) : null;
  const cpu = measured ? round(duration * (0.2 + 0.7 * rng.next()), 3) : null;

  const template = type.templatePicker.pick(rng);
  // About 40% have none: a crash or timeout leaves nothing to summarize, and not every run reports one.
  let summary: string | null = null;
  if (success) summary = rng.chance(0.7) ? template.summaries.pick(rng) : null;
  else if (errorType !== 'crash' && errorType !== 'timeout') summary = rng.chance(0.45) ? template.failedSummaries.pick(rng) : null;
  const errorMessage = errorType ? ERROR_MESSAGES[errorType][rng.int(ERROR_MESSAGES[errorType].length)]! : null;

  const { taskId, traceId, spanId } = rng.ids();
  const service = w.services.pick(rng);
  const description = describe(rng, w, template, repo);
  const receivedAt = timestamp + duration * 1000 + rng.lognormal(1500, 0.6);

  return {
    task_id: taskId,
    timestamp: new Date(timestamp),
    task_type: spec.name,
    task_description: description,
    repo: repo.spec.name,
    file_count: files,
    estimated_tokens: tokens,
    model_tier: tier,
    pool_type: pool.name,
    swarm_topology: topology,
    routing_confidence: confidence,
    predicted_success_probability: predicted,
    complexity_score: complexity,
    success,
    duration_seconds: duration,
    quality_score: quality,
    cost_estimate: costEstimate,
    actual_cost: actualCost,
    error_type: errorType,
    error_message: errorMessage,
    user_accepted: userAccepted,
    user_rating: userRating,
    peak_memory_mb: memory,
    cpu_time_seconds: cpu,
    solution_summary: summary,
    metadata: { synthetic: true, seed, span_name: 'agent.run' },
    trace_id: traceId,
    span_id: spanId,
    service_name: service,
    received_at: new Date(Math.floor(receivedAt)),
  };
}

function check(row: ExecutionRow, index: number): void {
  const r = ExecutionRow.safeParse(row);
  if (!r.success) throw new Error(`synthetic row ${index} fails the ExecutionRow schema at ${firstIssue(r.error)}`);
}

/**
 * Yields `rows` executions in chunks of `chunkSize`, in ascending timestamp order over the last
 * `days` days before `now`. Deterministic for (rows, days, seed, now).
 */
export function* generateExecutions(opts: GenerateOptions): Generator<ExecutionRow[], void, undefined> {
  const rows = opts.rows;
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`rows must be a non-negative integer, got ${rows}`);
  const days = opts.days ?? 90;
  if (!(days > 0)) throw new Error(`days must be positive, got ${days}`);
  const seed = (opts.seed ?? 1) >>> 0;
  const now = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
  const chunkSize = Math.max(1, opts.chunkSize ?? 10_000);
  const validate = opts.validate ?? 'sample';
  world ??= buildWorld();
  const w = world;
  const rng = new Rng(mulberry32(seed));
  const clock = new Clock(rows, days, now);
  for (let start = 0; start < rows; start += chunkSize) {
    const n = Math.min(chunkSize, rows - start);
    const chunk = new Array<ExecutionRow>(n);
    for (let i = 0; i < n; i++) {
      const row = makeRow(rng, w, clock.next(rng), seed);
      // Reported after the span ended, but never from the future.
      if (row.received_at.getTime() > now) row.received_at = new Date(Math.max(now, row.timestamp.getTime()));
      if (validate === 'all' || (validate === 'sample' && (start + i) % 1000 === 0)) check(row, start + i);
      chunk[i] = row;
    }
    yield chunk;
  }
}
