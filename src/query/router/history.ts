// The history levels behind a recommendation's prior: recency-weighted outcome sums per tier,
// globally, per repo and per task type. Filled from the daily summary table (live) or one execution
// at a time (the eval replay); both give posterior.ts the same Levels.
import { addSums, emptySums, type Levels, type TierSums } from './posterior.js';

const DAY_MS = 86_400_000;

type ByTier = Map<string, TierSums>;

function add(m: Map<string, ByTier>, key: string, tier: string, x: TierSums, k: number): void {
  let byTier = m.get(key);
  if (!byTier) m.set(key, (byTier = new Map()));
  let a = byTier.get(tier);
  if (!a) byTier.set(tier, (a = emptySums()));
  addSums(a, x, k);
}

function scaled(m: ByTier | undefined, k: number): ByTier | null {
  if (!m) return null;
  const out: ByTier = new Map();
  for (const [t, x] of m) {
    const y = emptySums();
    addSums(y, x, k);
    out.set(t, y);
  }
  return out;
}

export class History {
  private readonly global: ByTier = new Map();
  private readonly repos = new Map<string, ByTier>();
  private readonly types = new Map<string, ByTier>();

  /**
   * Sums are kept in units of weight at `originMs` growing as 2^(age/half-life) toward the present,
   * so adding is O(1) and reading at time t multiplies by 2^(−(t − origin)/half-life).
   */
  constructor(
    readonly halfLifeDays: number,
    private readonly originMs = 0,
  ) {}

  private growth(atMs: number): number {
    return Math.pow(2, (atMs - this.originMs) / DAY_MS / this.halfLifeDays);
  }

  /** Adds outcome sums observed at `atMs`. */
  add(repo: string, taskType: string, tier: string, x: TierSums, atMs: number): void {
    const k = this.growth(atMs);
    const g = this.global.get(tier) ?? emptySums();
    addSums(g, x, k);
    this.global.set(tier, g);
    add(this.repos, repo, tier, x, k);
    add(this.types, taskType, tier, x, k);
  }

  get empty(): boolean {
    return this.global.size === 0;
  }

  /** Every tier seen, in any level. */
  tiers(): string[] {
    return [...this.global.keys()];
  }

  hasTaskType(t: string): boolean {
    return this.types.has(t);
  }

  /** The levels as seen at `atMs`: each level's sums weighted by recency. */
  levels(repo: string | null | undefined, taskType: string | null | undefined, atMs: number): Levels {
    const k = 1 / this.growth(atMs);
    return {
      global: scaled(this.global, k)!,
      repo: repo ? scaled(this.repos.get(repo), k) : null,
      taskType: taskType ? scaled(this.types.get(taskType), k) : null,
    };
  }
}
