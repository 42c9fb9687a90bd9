// A group the database refuses for a permanent reason (a constraint or conversion error on a row)
// is split in halves until the refused rows stand alone: the rest commits, and each refused row is
// kept in rejected_spans with the database's reason. Retrying commits what already did is safe:
// every table keys its rows, so a redelivered row is stored once.
import { isPermanentStoreError } from '../errors.js';
import type { RejectedSpan } from '../convert/rejected.js';
import { uuidV5 } from '../convert/task-id.js';
import type { CommitBatch, CommitResult } from './consumer.js';

type Kind = 'executions' | 'rejected' | 'feedback' | 'genaiPending';

/** One row of one request. */
interface Item {
  request: number;
  kind: Kind;
  row: Record<string, unknown>;
}

const KINDS: readonly Kind[] = ['executions', 'rejected', 'feedback', 'genaiPending'];

/** Whether a refused row was an execution (it is not an accepted span). */
export const isRefusedExecution = (r: RejectedSpan): boolean => r.attributes['orb.refused_executions'] !== undefined;

export const emptyResult = (): CommitResult => ({ inserted: 0, duplicates: 0, rejectedStored: 0, feedbackStored: 0 });

function add(a: CommitResult, b: CommitResult): CommitResult {
  return { inserted: a.inserted + b.inserted, duplicates: a.duplicates + b.duplicates, rejectedStored: a.rejectedStored + b.rejectedStored, feedbackStored: a.feedbackStored + b.feedbackStored };
}

function batchOf(items: readonly Item[]): CommitBatch {
  const b: Record<Kind, unknown[]> = { executions: [], rejected: [], feedback: [], genaiPending: [] };
  for (const it of items) b[it.kind].push(it.row);
  return b as unknown as CommitBatch;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** The reject that keeps a refused row: the row whole, and why the database refused it. */
function refusal(it: Item, reason: string): RejectedSpan {
  const row = it.row;
  if (it.kind === 'rejected') {
    // A reject the database refused: kept again without the content it choked on.
    const r = row as unknown as RejectedSpan;
    return { ...r, rejected_id: uuidV5(`refused/${r.rejected_id}`), reason: `${r.reason}; then refused by the database: ${reason}`, attributes: {}, resource: {} };
  }
  const key = text(row.task_id) ?? text(row.feedback_id) ?? text(row.pending_id) ?? `${text(row.trace_id)}/${text(row.span_id)}`;
  return {
    rejected_id: uuidV5(`refused/${it.kind}/${key}`),
    received_at: row.received_at instanceof Date ? row.received_at : new Date(),
    trace_id: text(row.trace_id),
    span_id: text(row.span_id),
    span_name: null,
    service_name: text(row.service_name),
    reason: `refused by the database: ${reason}`,
    attributes: JSON.parse(JSON.stringify({ [`orb.refused_${it.kind}`]: row })) as Record<string, unknown>,
    resource: {},
  };
}

/**
 * Commits the requests' rows, bisecting on permanent refusals. Returns the group's counts and,
 * per request, the rejects made of its refused rows (already stored). Transient errors, and a
 * refusal of the refusals themselves, are thrown.
 */
export async function commitBisecting(
  commit: (b: CommitBatch) => Promise<CommitResult>,
  requests: readonly CommitBatch[],
  firstError: unknown,
): Promise<{ result: CommitResult; refused: RejectedSpan[][] }> {
  const items: Item[] = [];
  requests.forEach((b, request) => {
    for (const kind of KINDS) for (const row of (b[kind] ?? []) as readonly object[]) items.push({ request, kind, row: row as Record<string, unknown> });
  });
  const refused: RejectedSpan[][] = requests.map(() => []);
  let result = emptyResult();
  const bad: RejectedSpan[] = [];
  // The whole group already failed: start with its halves.
  const todo: { items: Item[]; error: unknown }[] = [{ items, error: firstError }];
  while (todo.length > 0) {
    const part = todo.pop()!;
    let error = part.error;
    if (error === undefined) {
      try {
        result = add(result, await commit(batchOf(part.items)));
        continue;
      } catch (err) {
        if (!isPermanentStoreError(err)) throw err;
        error = err;
      }
    }
    if (part.items.length === 1) {
      const r = refusal(part.items[0]!, error instanceof Error ? error.message : String(error));
      refused[part.items[0]!.request]!.push(r);
      bad.push(r);
      continue;
    }
    const mid = part.items.length >> 1;
    todo.push({ items: part.items.slice(mid), error: undefined }, { items: part.items.slice(0, mid), error: undefined });
  }
  if (bad.length > 0) result = add(result, await commit({ executions: [], rejected: bad }));
  return { result, refused };
}
