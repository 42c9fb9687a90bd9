// Feedback linking: an execution's row shows the latest opinion of it (user_rating, user_accepted),
// whichever came first, the execution or its feedback. Runs inside the writer's turn.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { FeedbackRow } from '../convert/feedback.js';
import type { ExecutionRow } from '../convert/record.js';
import { SQL_UUID } from './sql.js';

/** SQL that sets executions.user_rating / user_accepted from the latest feedback that has one. */
export function latestFeedbackSql(taskIds: readonly string[]): string | null {
  const ids = [...new Set(taskIds)];
  if (ids.length === 0) return null;
  if (!ids.every((id) => SQL_UUID.test(id))) throw new Error('latestFeedbackSql: task ids must be UUIDs');
  const order = `struct_pack(t := timestamp, r := received_at, id := feedback_id::VARCHAR)`;
  return `UPDATE executions SET user_rating = coalesce(f.rating, executions.user_rating), user_accepted = coalesce(f.accepted, executions.user_accepted)
       FROM (SELECT task_id, arg_max(rating, ${order}) FILTER (WHERE rating IS NOT NULL) AS rating,
                    arg_max(accepted, ${order}) FILTER (WHERE accepted IS NOT NULL) AS accepted
             FROM feedback WHERE task_id IN (${ids.map((id) => `'${id}'`).join(', ')}) GROUP BY task_id) f
       WHERE executions.task_id = f.task_id`;
}

export class FeedbackLinker {
  /** Task ids with feedback but (as far as we know) no execution yet: the only ones a new execution must link. */
  private readonly waiting = new Set<string>();
  /**
   * Past `maxWaiting` task ids (feedback whose execution may never come), the set is dropped and
   * every new execution is checked against feedback in SQL: slower commits, bounded memory.
   */
  private overflow = false;

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly maxWaiting: number,
  ) {}

  /** Feedback that came before its execution, from earlier runs. */
  async load(): Promise<void> {
    const orphans = await this.conn.runAndReadAll('SELECT DISTINCT task_id::VARCHAR FROM feedback ANTI JOIN executions USING (task_id)');
    for (const r of orphans.getRows()) this.waitFor(String(r[0]));
  }

  /** Inside the commit: the statement that shows the latest opinion on the rows it touches, or null. */
  linkSql(fresh: readonly ExecutionRow[], freshFeedback: readonly FeedbackRow[]): string | null {
    // New feedback, and executions whose feedback came first.
    const linked = this.overflow
      ? fresh.map((r) => r.task_id)
      : this.waiting.size || freshFeedback.length
        ? fresh.filter((r) => this.waiting.has(r.task_id)).map((r) => r.task_id)
        : [];
    return latestFeedbackSql([...linked, ...freshFeedback.map((f) => f.task_id)]);
  }

  /** Inside the commit: the task ids of new feedback whose execution is not there yet (this transaction's rows included). */
  async stillWaiting(freshFeedback: readonly FeedbackRow[]): Promise<string[]> {
    const ids = [...new Set(freshFeedback.map((f) => f.task_id))].filter((id) => SQL_UUID.test(id));
    if (ids.length === 0) return [];
    const r = await this.conn.runAndReadAll(`SELECT id FROM (VALUES ${ids.map((id) => `('${id}')`).join(', ')}) t(id) WHERE id::UUID NOT IN (SELECT task_id FROM executions WHERE task_id IN (${ids.map((id) => `'${id}'`).join(', ')}))`);
    return r.getRows().map((x) => String(x[0]));
  }

  /** After the commit: these task ids wait for their execution; these executions have arrived. */
  committed(waiting: readonly string[], executions: readonly ExecutionRow[]): void {
    for (const id of waiting) this.waitFor(id);
    if (this.waiting.size) for (const r of executions) this.waiting.delete(r.task_id);
  }

  private waitFor(taskId: string): void {
    if (this.overflow) return;
    this.waiting.add(taskId);
    if (this.waiting.size > this.maxWaiting) {
      this.overflow = true;
      this.waiting.clear();
    }
  }
}
