// Merges solution patterns by meaning, once their summaries have vectors: normalized text already
// merges spellings; this merges paraphrases ("Extracted JWT validation into shared middleware" /
// "Moved JWT checks into a shared middleware") whose cosine is at least the threshold. The newer
// pattern becomes an alias of the older one (see schema/008_solution_aliases.sql).
import type { DuckDBConnection } from '@duckdb/node-api';
import type { SolutionMerge } from '../store/solution-patterns.js';
import type { ExecutionWriter } from '../store/writer.js';

/**
 * Cosine at or above which two solution summaries are one pattern. Chosen high on purpose: a wrong
 * merge mixes two patterns' success rates and cannot be undone from the counts, a missed one only
 * leaves two rows. With the offline USE-lite model, close rewordings of one fix score about 0.94,
 * looser paraphrases 0.82–0.83 (left apart), and different fixes on one subject up to 0.87
 * ("Removed JWT validation…" against "Extracted JWT validation…"): see test/embed/solutions.test.ts.
 */
export const SOLUTION_MERGE_THRESHOLD = 0.9;

export interface SolutionVector {
  patternId: string;
  extractedAt: Date;
  embedding: Float32Array;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * For each fresh pattern (oldest first), its closest pattern among the existing ones and the fresh
 * ones already kept; at or above the threshold the newer of the two becomes an alias of the older.
 * Pure: the caller applies the merges.
 */
export function findMerges(existing: readonly SolutionVector[], fresh: readonly SolutionVector[], threshold = SOLUTION_MERGE_THRESHOLD, modelId = ''): SolutionMerge[] {
  const kept = [...existing];
  const merges: SolutionMerge[] = [];
  for (const f of [...fresh].sort((a, b) => a.extractedAt.getTime() - b.extractedAt.getTime())) {
    let best: SolutionVector | null = null;
    let bestSim = -Infinity;
    for (const k of kept) {
      const sim = cosine(f.embedding, k.embedding);
      if (sim > bestSim) [best, bestSim] = [k, sim];
    }
    if (best && bestSim >= threshold) {
      const [alias, canonical] = f.extractedAt < best.extractedAt ? [best, f] : [f, best];
      merges.push({ alias: alias.patternId, canonical: canonical.patternId, similarity: bestSim, modelId });
      if (alias === best) kept[kept.indexOf(best)] = f;
    } else {
      kept.push(f);
    }
  }
  return merges;
}

export interface SolutionLinkerOptions {
  modelId: string;
  embed(texts: string[]): Promise<Float32Array[]>;
  threshold?: number;
  /** Patterns embedded per run. */
  batch?: number;
}

/** Embeds the summaries of patterns that lack a vector for the model, then merges paraphrases. */
export class SolutionLinker {
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly writer: ExecutionWriter,
    private readonly opts: SolutionLinkerOptions,
  ) {}

  async runOnce(): Promise<{ embedded: number; merged: SolutionMerge[] }> {
    const model = this.opts.modelId;
    const missing = (
      await this.conn.runAndReadAll(
        `SELECT pattern_id::VARCHAR AS id, solution_summary AS summary, extracted_at AS at FROM solutions
         WHERE embedding IS NULL OR embedding_model IS DISTINCT FROM $1 ORDER BY extracted_at LIMIT $2`,
        [model, this.opts.batch ?? 256],
      )
    ).getRowObjectsJS() as { id: string; summary: string; at: Date }[];
    if (missing.length === 0) return { embedded: 0, merged: [] };
    const vectors = await this.opts.embed(missing.map((m) => m.summary));
    await this.writer.setSolutionEmbeddings(model, missing.map((m, i) => ({ patternId: m.id, embedding: vectors[i]! })));
    const ids = new Set(missing.map((m) => m.id));
    const existing = (
      await this.conn.runAndReadAll(`SELECT pattern_id::VARCHAR AS id, extracted_at AS at, embedding FROM solutions WHERE embedding_model = $1`, [model])
    )
      .getRowObjectsJS()
      .filter((r) => !ids.has(String(r.id)))
      .map((r) => ({ patternId: String(r.id), extractedAt: r.at as Date, embedding: Float32Array.from(r.embedding as number[]) }));
    const fresh = missing.map((m, i) => ({ patternId: m.id, extractedAt: m.at, embedding: vectors[i]! }));
    const merged = findMerges(existing, fresh, this.opts.threshold ?? SOLUTION_MERGE_THRESHOLD, model);
    await this.writer.mergeSolutions(merged);
    return { embedded: missing.length, merged };
  }
}
