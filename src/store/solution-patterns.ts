// Solution patterns: merging a pattern found to be a paraphrase of an older one into it (aliases),
// and storing the patterns' vectors. Runs inside the writer's turn.
import type { DuckDBConnection } from '@duckdb/node-api';
import { inTransaction, SQL_UUID, sqlIdent, sqlString } from './sql.js';
import { mergeClause, SUMMARY_TABLES } from './summaries.js';

const SOLUTIONS = SUMMARY_TABLES.find((t) => t.table === 'solutions')!;

/** A solution pattern found close enough to an older one to count as it from now on. */
export interface SolutionMerge {
  alias: string;
  canonical: string;
  similarity: number;
  modelId: string;
}

export class SolutionPatterns {
  /** Merged solution patterns: alias → canonical. */
  private readonly aliases = new Map<string, string>();
  /** The pattern an execution's summary counts towards. */
  readonly resolve = (id: string): string => this.aliases.get(id) ?? id;

  constructor(private readonly conn: DuckDBConnection) {}

  async load(): Promise<void> {
    for (const [a, c] of (await this.conn.runAndReadAll('SELECT pattern_id::VARCHAR, canonical_id::VARCHAR FROM solution_aliases')).getRows()) this.aliases.set(String(a), String(c));
  }

  /** The merges still to do: well-formed, new, and not merging a pattern into itself. */
  todo(merges: readonly SolutionMerge[]): SolutionMerge[] {
    return merges.filter((m) => SQL_UUID.test(m.alias) && SQL_UUID.test(m.canonical) && !this.aliases.has(m.alias) && this.resolve(m.canonical) !== m.alias);
  }

  /**
   * Makes each alias pattern count as its canonical one: its counts move into the canonical row,
   * its row goes, and later executions follow the alias. One transaction; the summary journal must
   * be merged first (pending deltas may hold the alias's counts).
   */
  async merge(todo: readonly SolutionMerge[]): Promise<void> {
    const cols = SOLUTIONS.columns.map((c) => sqlIdent(c.name));
    await inTransaction(this.conn, async (last) => {
      for (const m of todo) {
        const canonical = this.resolve(m.canonical);
        last.push(
          `INSERT INTO solutions (${cols.join(', ')}) SELECT '${canonical}'::UUID, ${cols.slice(1).join(', ')} FROM solutions WHERE pattern_id = '${m.alias}' ON CONFLICT (pattern_id) DO UPDATE SET ${mergeClause(SOLUTIONS)}`,
          `DELETE FROM solutions WHERE pattern_id = '${m.alias}'`,
          // A chain (b → a, then a → c) collapses, so every alias names a pattern that exists.
          `UPDATE solution_aliases SET canonical_id = '${canonical}' WHERE canonical_id = '${m.alias}'`,
          `INSERT INTO solution_aliases VALUES ('${m.alias}', '${canonical}', ${Number(m.similarity)}, ${sqlString(m.modelId)}, now())`,
        );
      }
    });
    for (const m of todo) {
      const canonical = this.resolve(m.canonical);
      for (const [a, c] of this.aliases) if (c === m.alias) this.aliases.set(a, canonical);
      this.aliases.set(m.alias, canonical);
    }
  }

  /** Stores the vectors of solution summaries (solutions.embedding). */
  async setEmbeddings(modelId: string, vectors: readonly { patternId: string; embedding: Float32Array }[]): Promise<void> {
    const rows = vectors.filter((v) => SQL_UUID.test(v.patternId) && v.embedding.every(Number.isFinite));
    if (rows.length === 0) return;
    const values = rows.map((v) => `('${v.patternId}'::UUID, [${Array.from(v.embedding).join(',')}]::FLOAT[])`).join(', ');
    await inTransaction(this.conn, async (last) => {
      last.push(`UPDATE solutions SET embedding = v.e, embedding_model = ${sqlString(modelId)} FROM (VALUES ${values}) v(id, e) WHERE solutions.pattern_id = v.id`);
    });
  }
}
