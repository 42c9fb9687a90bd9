// Pure row builders: what a commit writes, built apart from the writing (see writer.ts).
import { ROW_FIELDS, type ExecutionRow, type FieldSpec } from '../convert/record.js';
import type { FeedbackRow } from '../convert/feedback.js';
import type { RejectedSpan } from '../convert/rejected.js';

export type Cell = string | number | boolean | Date | null | number[] | string[];

export interface TableWrite {
  table: string;
  key: string;
  columns: readonly string[];
  rows: Cell[][];
  /** Rows dropped because an earlier row in the same batch had the same key. */
  inBatchDuplicates: number;
}

export const EXECUTION_COLUMNS: readonly string[] = ROW_FIELDS.map((f) => f.name);

export const REJECTED_COLUMNS = [
  'rejected_id',
  'received_at',
  'trace_id',
  'span_id',
  'span_name',
  'service_name',
  'reason',
  'attributes',
  'resource',
] as const satisfies readonly (keyof RejectedSpan)[];

function cell(field: FieldSpec, value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (field.kind === 'json') return JSON.stringify(value);
  return value as Cell;
}

export function executionCells(row: ExecutionRow): Cell[] {
  return ROW_FIELDS.map((f) => cell(f, row[f.name as keyof ExecutionRow]));
}

export function rejectedCells(r: RejectedSpan): Cell[] {
  return REJECTED_COLUMNS.map((c) => {
    const v = r[c];
    return c === 'attributes' || c === 'resource' ? JSON.stringify(v) : (v as Cell);
  });
}

function dedupe<T>(items: readonly T[], keyOf: (t: T) => string): { kept: T[]; dropped: number } {
  const seen = new Set<string>();
  const kept: T[] = [];
  for (const it of items) {
    const k = keyOf(it);
    if (seen.has(k)) continue;
    seen.add(k);
    kept.push(it);
  }
  return { kept, dropped: items.length - kept.length };
}

/**
 * The executions' write and the rows it keeps: one per task_id (the first), in time order, so
 * zone maps stay tight for time-bounded scans. Deduped and sorted here, once.
 */
export function executionWrite(rows: readonly ExecutionRow[]): { write: TableWrite; kept: ExecutionRow[] } {
  const { kept, dropped } = dedupe(rows, (r) => r.task_id);
  kept.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
  return { write: { table: 'executions', key: 'task_id', columns: EXECUTION_COLUMNS, rows: kept.map(executionCells), inBatchDuplicates: dropped }, kept };
}

export function rejectedWrite(rejected: readonly RejectedSpan[]): TableWrite {
  const { kept, dropped } = dedupe(rejected, (r) => r.rejected_id);
  return { table: 'rejected_spans', key: 'rejected_id', columns: REJECTED_COLUMNS, rows: kept.map(rejectedCells), inBatchDuplicates: dropped };
}

// In table order: the appender writes by position (schema-agreement.test.ts checks the order).
export const FEEDBACK_COLUMNS = [
  'feedback_id',
  'task_id',
  'timestamp',
  'feedback_type',
  'rating',
  'comment',
  'user_id',
  'accepted',
  'score',
  'source',
  'trace_id',
  'span_id',
  'received_at',
] as const satisfies readonly (keyof FeedbackRow)[];

export function feedbackWrite(rows: readonly FeedbackRow[]): TableWrite {
  const { kept, dropped } = dedupe(rows, (r) => r.feedback_id);
  return { table: 'feedback', key: 'feedback_id', columns: FEEDBACK_COLUMNS, rows: kept.map((r) => FEEDBACK_COLUMNS.map((c) => r[c] as Cell)), inBatchDuplicates: dropped };
}
