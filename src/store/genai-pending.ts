// The store side of GenAI runs (schema/011_genai.sql): pending agent spans and inference calls,
// what assembling a run or counting a late call writes (inside the writer's transaction), and the
// reads the settler makes. A call is deleted in the transaction that counts it, so it counts once.
import type { DuckDBConnection } from '@duckdb/node-api';
import { fromJson, type AgentSpan, type InferenceCall, type PendingSpan } from '../convert/genai/spans.js';
import { ExecutionRow, ROW_FIELDS } from '../convert/record.js';
import type { GenAiWork } from '../pipeline/consumer.js';
import type { TableWrite } from './rows.js';

export type { GenAiWork, Revision, SettledWork } from '../pipeline/consumer.js';

export const GENAI_PENDING_COLUMNS = ['pending_id', 'kind', 'trace_id', 'span_id', 'parent_span_id', 'received_at', 'body'] as const satisfies readonly (keyof PendingSpan)[];

export function genaiPendingWrite(rows: readonly PendingSpan[]): TableWrite {
  const seen = new Set<string>();
  const kept = rows.filter((r) => !seen.has(r.pending_id) && seen.add(r.pending_id));
  return { table: 'genai_pending', key: 'pending_id', columns: GENAI_PENDING_COLUMNS, rows: kept.map((r) => GENAI_PENDING_COLUMNS.map((c) => r[c])), inBatchDuplicates: rows.length - kept.length };
}

const inList = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

async function deleteIds(conn: DuckDBConnection, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 1000) {
    const part = ids.slice(i, i + 1000);
    await conn.run(`DELETE FROM genai_pending WHERE pending_id IN (${inList(part.length)})`, [...part]);
  }
}

/** Inside the commit's transaction, once the executions are written; `fresh` = task ids that were new (null: all). */
export async function applyGenAiWork(conn: DuckDBConnection, w: GenAiWork, fresh: ReadonlySet<string> | null): Promise<void> {
  const gone: string[] = [...(w.drop ?? [])];
  for (const s of w.settled ?? []) {
    gone.push(s.agent);
    // A redelivered agent span whose execution exists leaves its calls to the late path.
    if (s.task_id !== null && (fresh === null || fresh.has(s.task_id))) gone.push(...s.calls);
  }
  for (const r of w.revisions ?? []) {
    await conn.run('UPDATE executions SET model_tier = $1, pool_type = $2, actual_cost = $3, estimated_tokens = $4, metadata = $5 WHERE task_id = $6::UUID', [
      r.next.model_tier,
      r.next.pool_type,
      r.next.actual_cost,
      r.next.estimated_tokens,
      JSON.stringify(r.next.metadata),
      r.next.task_id,
    ]);
    gone.push(...r.calls);
  }
  await deleteIds(conn, gone);
}

export interface PendingAgent {
  pending_id: string;
  trace_id: string;
  span_id: string;
  received_at: Date;
  agent: AgentSpan;
}

export interface PendingCall {
  pending_id: string;
  trace_id: string;
  parent_span_id: string | null;
  call: InferenceCall;
}

const toDate = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));

/** Agent spans received before `before`, oldest first. */
export async function dueAgents(conn: DuckDBConnection, before: Date, limit: number): Promise<PendingAgent[]> {
  const r = await conn.runAndReadAll(
    `SELECT pending_id, trace_id, span_id, epoch_ms(received_at), body FROM genai_pending WHERE kind = 'agent' AND received_at <= make_timestamp($1::BIGINT) ORDER BY received_at LIMIT ${Math.trunc(limit)}`,
    [before.getTime() * 1000],
  );
  return r.getRows().map(([id, t, s, at, body]) => ({ pending_id: String(id), trace_id: String(t), span_id: String(s), received_at: new Date(Number(at)), agent: fromJson<AgentSpan>(String(body)) }));
}

const callRow = ([id, t, p, body]: unknown[]): PendingCall => ({ pending_id: String(id), trace_id: String(t), parent_span_id: p === null ? null : String(p), call: fromJson<InferenceCall>(String(body)) });

/** The pending calls whose parent is one of these agent spans. */
export async function callsUnder(conn: DuckDBConnection, agents: readonly { trace_id: string; span_id: string }[]): Promise<PendingCall[]> {
  if (agents.length === 0) return [];
  const params = agents.flatMap((a) => [a.trace_id, a.span_id]);
  const values = agents.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ');
  const r = await conn.runAndReadAll(
    `SELECT c.pending_id, c.trace_id, c.parent_span_id, c.body FROM genai_pending c JOIN (VALUES ${values}) a(t, s) ON c.trace_id = a.t AND c.parent_span_id = a.s WHERE c.kind = 'call'`,
    params,
  );
  return r.getRows().map(callRow);
}

const EXECUTION_SELECT = ROW_FIELDS.map((f) => (f.kind === 'uuid' ? `e.${f.name}::VARCHAR` : f.kind === 'json' ? `e.${f.name}::VARCHAR` : f.kind === 'timestamp' ? `epoch_ms(e.${f.name})` : `e.${f.name}`)).join(', ');

function executionFrom(cells: unknown[]): ExecutionRow {
  const o: Record<string, unknown> = {};
  ROW_FIELDS.forEach((f, i) => {
    const v = cells[i];
    o[f.name] = v === null ? (f.required ? undefined : null) : f.kind === 'json' ? JSON.parse(String(v)) : f.kind === 'timestamp' ? new Date(Number(v)) : typeof v === 'bigint' ? Number(v) : v;
  });
  return ExecutionRow.parse(o);
}

/**
 * Calls whose GenAI execution is already stored, grouped by it. Only executions received since
 * `since` are looked at: rows land in time order, so zone maps keep this scan to the recent ones.
 */
export async function lateCalls(conn: DuckDBConnection, limit: number, since: Date): Promise<{ execution: ExecutionRow; calls: PendingCall[] }[]> {
  const r = await conn.runAndReadAll(
    `SELECT c.pending_id, c.trace_id, c.parent_span_id, c.body, ${EXECUTION_SELECT}
       FROM genai_pending c JOIN executions e ON e.trace_id = c.trace_id AND e.span_id = c.parent_span_id
      WHERE c.kind = 'call' AND e.received_at >= make_timestamp($1::BIGINT) AND json_exists(e.metadata, '$.genai')
      ORDER BY e.task_id LIMIT ${Math.trunc(limit)}`,
    [since.getTime() * 1000],
  );
  const byTask = new Map<string, { execution: ExecutionRow; calls: PendingCall[] }>();
  for (const row of r.getRows()) {
    const call = callRow(row.slice(0, 4));
    const taskId = String(row[4]);
    let g = byTask.get(taskId);
    if (!g) byTask.set(taskId, (g = { execution: executionFrom(row.slice(4)), calls: [] }));
    g.calls.push(call);
  }
  return [...byTask.values()];
}

/**
 * Calls to expire: those older than `olderThan` with neither a pending agent nor an execution to
 * join (a trace without an agent span), and, beyond `maxPending` pending spans, the oldest calls.
 */
export async function expiredCalls(conn: DuckDBConnection, olderThan: Date, maxPending: number, since: Date): Promise<{ orphan: string[]; overflow: string[] }> {
  const old = Number((await conn.runAndReadAll(`SELECT count(*) FROM genai_pending WHERE kind = 'call' AND received_at < make_timestamp($1::BIGINT)`, [olderThan.getTime() * 1000])).getRows()[0]![0]);
  const orphan = old === 0 ? [] : (
    await conn.runAndReadAll(
      `SELECT c.pending_id FROM genai_pending c
        WHERE c.kind = 'call' AND c.received_at < make_timestamp($1::BIGINT)
          AND NOT EXISTS (SELECT 1 FROM genai_pending a WHERE a.kind = 'agent' AND a.trace_id = c.trace_id AND a.span_id = c.parent_span_id)
          AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.received_at >= make_timestamp($2::BIGINT) AND e.trace_id = c.trace_id AND e.span_id = c.parent_span_id)
        LIMIT 10000`,
      [olderThan.getTime() * 1000, since.getTime() * 1000],
    )
  ).getRows().map((x) => String(x[0]));
  const total = Number((await conn.runAndReadAll('SELECT count(*) FROM genai_pending')).getRows()[0]![0]) - orphan.length;
  let overflow: string[] = [];
  if (total > maxPending) {
    const skip = new Set(orphan);
    overflow = (await conn.runAndReadAll(`SELECT pending_id FROM genai_pending WHERE kind = 'call' ORDER BY received_at, pending_id LIMIT ${Math.trunc(total - maxPending + orphan.length)}`))
      .getRows()
      .map((x) => String(x[0]))
      .filter((id) => !skip.has(id))
      .slice(0, total - maxPending);
  }
  return { orphan, overflow };
}

export async function pendingStats(conn: DuckDBConnection): Promise<{ agents: number; calls: number; bytes: number }> {
  const [row] = (await conn.runAndReadAll(`SELECT count(*) FILTER (WHERE kind = 'agent'), count(*) FILTER (WHERE kind = 'call'), coalesce(sum(strlen(body) + 96), 0) FROM genai_pending`)).getRows();
  return { agents: Number(row![0]), calls: Number(row![1]), bytes: Number(row![2]) };
}
