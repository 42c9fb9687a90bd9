// orb-learn migrate hotstore: the execution records a HotStore DuckDB file keeps as conversations
// (metadata.type = 'execution', review §5.3's migrate_from_hotstore) become ExecutionRows,
// validated by the zod schema and written through the store's writer (ON CONFLICT DO NOTHING on
// task_id, summary tables kept), in chunks. The task_id is deterministic, so a rerun finds every
// row already present and migrates nothing: idempotent, zero loss, no duplicates.
//
// The mapping (docs/migration.md has the table): every ExecutionRecord field is read from the
// metadata key of the same name; timestamp falls back to created_at, task_description to content;
// task_id is metadata.task_id when it is a UUID, else a UUID v5 of it (kept in
// metadata.original_task_id), else a UUID v5 of the conversation id. Every other metadata key,
// and the keys of a nested metadata.metadata object, go into the record's metadata, with the
// conversation's provenance under metadata.hotstore.
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { DuckDBInstance } from '@duckdb/node-api';
import type { z } from 'zod';
import { ExecutionRow, RECORD_FIELDS } from '../convert/record.js';
import { isUuid, uuidV5 } from '../convert/task-id.js';
import { boundRule } from '../convert/issues.js';
import { sqlIdent } from '../store/sql.js';
import type { ExecutionWriter } from '../store/writer.js';

export const HOTSTORE_SERVICE = 'hotstore-migration';
export const HOTSTORE_TABLE = 'conversations';

/** One row of a HotStore conversations table, as read. */
export interface HotStoreConversation {
  id: string;
  created_at: Date | null;
  content: string | null;
  /** The metadata JSON, parsed. */
  metadata: Record<string, unknown>;
}

export type Conversion = { row: ExecutionRow } | { reasons: string[] };

const RECORD_KEYS = new Set(RECORD_FIELDS.map((f) => f.name));
/** Metadata keys that are the mapping's own: not copied into the record's metadata. */
const CONSUMED = new Set([...RECORD_KEYS, 'type']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * ISO 8601 strings (a time without offset is UTC, as Python's naive utcnow().isoformat() means
 * it; microseconds are cut to milliseconds) or epoch numbers (seconds below 1e11, else ms).
 */
export function parseTimestamp(v: unknown): Date | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(Math.abs(v) < 1e11 ? v * 1000 : v);
  if (typeof v !== 'string' || v.trim() === '') return null;
  let s = v.trim().replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) s += 'T00:00:00';
  s = s.replace(/(\.\d{3})\d+/, '$1');
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s += 'Z';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'number';
  return typeof v;
}

/** A zod issue as one line naming the HotStore field (describeIssue's form, with metadata.* names). */
export function describeHotStoreIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>): string {
  const field = String(issue.path[0] ?? '');
  const name = `metadata.${field}`;
  const got = input[field];
  switch (issue.code) {
    case 'invalid_type':
      return got === undefined ? `${name}: required field is missing` : `${name}: expected ${issue.expected}, got ${typeName(got)} ${JSON.stringify(got)}`;
    default: {
      const bound = boundRule(issue);
      return bound ? `${name}: ${bound}, got ${JSON.stringify(got)}` : `${name}: ${issue.message}`;
    }
  }
}

/** A conversation → an ExecutionRow, or the reasons it cannot be one. Pure. */
export function conversationToRow(c: HotStoreConversation, receivedAt: Date): Conversion {
  const m = c.metadata;
  const reasons: string[] = [];
  const input: Record<string, unknown> = {};
  for (const key of RECORD_KEYS) if (key !== 'metadata' && m[key] !== undefined) input[key] = m[key];

  // The record's metadata: unknown keys, then a nested metadata object, then provenance.
  const metadata: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) if (!CONSUMED.has(k)) metadata[k] = v;
  const hotstore: Record<string, unknown> = { conversation_id: c.id, created_at: c.created_at?.toISOString() ?? null };
  if (m.metadata !== undefined && m.metadata !== null) {
    if (!isObject(m.metadata)) {
      reasons.push(`metadata.metadata: expected an object, got ${typeName(m.metadata)}`);
    } else {
      const shadowed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(m.metadata)) {
        if (k in metadata) shadowed[k] = metadata[k];
        metadata[k] = v;
      }
      if (Object.keys(shadowed).length > 0) hotstore.shadowed = shadowed;
    }
  }

  // task_id: a UUID as given; any other value → a v5 UUID of it; none → a v5 UUID of the conversation.
  const tid = m.task_id;
  if (typeof tid === 'string' && isUuid(tid)) input.task_id = tid;
  else if ((typeof tid === 'string' && tid !== '') || typeof tid === 'number') {
    input.task_id = uuidV5(`hotstore/task/${String(tid)}`);
    metadata.original_task_id = tid;
  } else {
    if (tid !== undefined && tid !== null && tid !== '') reasons.push(`metadata.task_id: expected a string, got ${typeName(tid)}`);
    input.task_id = uuidV5(`hotstore/conversation/${c.id}`);
  }

  // timestamp: metadata.timestamp, else created_at.
  if (m.timestamp !== undefined && m.timestamp !== null) {
    const d = parseTimestamp(m.timestamp);
    if (d) input.timestamp = d;
    else reasons.push(`metadata.timestamp: not a date or time: ${JSON.stringify(m.timestamp)}`);
  } else if (c.created_at) {
    input.timestamp = c.created_at;
  } else {
    reasons.push('metadata.timestamp: required field is missing (and created_at is null)');
  }

  // task_description: metadata, else the conversation's content; otherwise content is kept.
  if ((input.task_description === undefined || input.task_description === null) && c.content) input.task_description = c.content;
  else if (c.content && c.content !== input.task_description) hotstore.content = c.content;

  metadata.hotstore = hotstore;
  input.metadata = metadata;
  input.trace_id = null;
  input.span_id = null;
  input.service_name = HOTSTORE_SERVICE;
  input.received_at = receivedAt;

  const parsed = ExecutionRow.safeParse(input);
  if (!parsed.success) {
    const seen = new Set(reasons.map((r) => r.slice(0, r.indexOf(':'))));
    for (const issue of parsed.error.issues) {
      const line = describeHotStoreIssue(issue, input);
      if (!seen.has(line.slice(0, line.indexOf(':')))) reasons.push(line);
    }
  }
  if (reasons.length > 0 || !parsed.success) return { reasons };
  return { row: parsed.data };
}

// ---------------------------------------------------------------------------------------------
// The migration

export interface HotStoreReject {
  conversation_id: string;
  /** The task_id the row would have had (null when the metadata could not be read). */
  task_id: string | null;
  reasons: string[];
}

export interface HotStoreReport {
  source: string;
  /** Rows of the conversations table. */
  scanned: number;
  /** Conversations whose metadata.type is 'execution'. */
  executionRows: number;
  /** Written as new rows. */
  migrated: number;
  /** Already present (an earlier run, or a second conversation with the same task_id). */
  skipped: number;
  rejected: number;
  /** Conversations of another type (or none). */
  ignored: number;
  /** Metadata that is not valid JSON: neither ignored nor rejected, so listed apart. */
  unreadable: number;
  rejects: HotStoreReject[];
  unreadableRows: { conversation_id: string; reason: string }[];
  seconds: number;
}

export interface MigrateHotStoreOptions {
  /** The HotStore DuckDB file (opened READ_ONLY). */
  from: string;
  /** Rows per commit (default 2000). */
  chunkSize?: number;
  /** received_at of every migrated row (default: now). */
  receivedAt?: Date;
  onProgress?(p: { done: number; total: number }): void;
}


async function columnsOf(conn: DuckDBConnection): Promise<Map<string, string>> {
  const r = await conn.runAndReadAll(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = '${HOTSTORE_TABLE}' AND schema_name = 'main'`);
  return new Map(r.getRows().map((x) => [String(x[0]).toLowerCase(), String(x[1])]));
}

/**
 * Migrates a HotStore file into the store. Needs the store's writer (store.writer); the HotStore
 * file is opened read-only on a DuckDB instance of its own.
 */
export async function migrateHotStore(target: { writer: ExecutionWriter }, opts: MigrateHotStoreOptions): Promise<HotStoreReport> {
  const started = performance.now();
  const chunkSize = Math.max(1, opts.chunkSize ?? 2000);
  const receivedAt = opts.receivedAt ?? new Date();
  const instance = await DuckDBInstance.create(opts.from, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  const report: HotStoreReport = {
    source: opts.from,
    scanned: 0,
    executionRows: 0,
    migrated: 0,
    skipped: 0,
    rejected: 0,
    ignored: 0,
    unreadable: 0,
    rejects: [],
    unreadableRows: [],
    seconds: 0,
  };
  try {
    const cols = await columnsOf(conn);
    if (cols.size === 0) throw new Error(`${opts.from} has no ${HOTSTORE_TABLE} table: not a HotStore file`);
    for (const need of ['id', 'metadata']) if (!cols.has(need)) throw new Error(`${opts.from}: ${HOTSTORE_TABLE} has no ${need} column`);
    // A TIMESTAMP (UTC, as orb-learn's own) or TIMESTAMPTZ is read as it is; text is parsed.
    const createdType = cols.get('created_at');
    const createdAt = !createdType ? 'NULL::TIMESTAMP' : /^TIMESTAMP( WITH TIME ZONE)?$/.test(createdType) ? sqlIdent('created_at') : `try_cast(${sqlIdent('created_at')} AS TIMESTAMP)`;
    const content = cols.has('content') ? `${sqlIdent('content')}::VARCHAR` : 'NULL::VARCHAR';
    // metadata as text: a VARCHAR column may hold invalid JSON, which must not fail the scan.
    const meta = `${sqlIdent('metadata')}::VARCHAR`;
    const kind = `CASE WHEN ${meta} IS NULL THEN 'none' WHEN NOT json_valid(${meta}) THEN 'unreadable'
                       WHEN json_extract_string(${meta}, '$.type') = 'execution' THEN 'execution' ELSE 'other' END`;
    const counts = (await conn.runAndReadAll(`SELECT ${kind} AS k, count(*) FROM ${HOTSTORE_TABLE} GROUP BY k`)).getRows();
    const byKind = new Map(counts.map((r) => [String(r[0]), Number(r[1])]));
    report.executionRows = byKind.get('execution') ?? 0;
    report.ignored = (byKind.get('other') ?? 0) + (byKind.get('none') ?? 0);
    report.scanned = [...byKind.values()].reduce((a, b) => a + b, 0);
    opts.onProgress?.({ done: 0, total: report.executionRows });

    // Unreadable rows: listed, never silently dropped.
    const bad = await conn.runAndReadAll(`SELECT ${sqlIdent('id')}::VARCHAR, left(${meta}, 80) FROM ${HOTSTORE_TABLE} WHERE ${kind} = 'unreadable' ORDER BY rowid`);
    for (const [id, m] of bad.getRows()) report.unreadableRows.push({ conversation_id: String(id), reason: `metadata is not valid JSON: ${JSON.stringify(m)}` });
    report.unreadable = report.unreadableRows.length;

    // Execution rows in rowid order, a chunk at a time (keyset: the file is read-only, rowids are stable).
    let last: DuckDBValue = -1n;
    let done = 0;
    for (;;) {
      const r = await conn.runAndReadAll(
        `SELECT rowid, ${sqlIdent('id')}::VARCHAR, ${createdAt}, ${content}, ${meta} FROM ${HOTSTORE_TABLE}
         WHERE rowid > $1 AND ${kind} = 'execution' ORDER BY rowid LIMIT ${chunkSize}`,
        [last],
      );
      const rows = r.getRowsJS();
      if (rows.length === 0) break;
      last = BigInt(rows[rows.length - 1]![0] as bigint | number);
      const executions: ExecutionRow[] = [];
      for (const [, id, created, text, m] of rows) {
        const c: HotStoreConversation = {
          id: String(id),
          created_at: (created as Date | null) ?? null,
          content: (text as string | null) ?? null,
          metadata: JSON.parse(String(m)) as Record<string, unknown>,
        };
        const out = conversationToRow(c, receivedAt);
        if ('row' in out) executions.push(out.row);
        else {
          const tid = c.metadata.task_id;
          report.rejects.push({
            conversation_id: c.id,
            task_id: typeof tid === 'string' && isUuid(tid) ? tid.toLowerCase() : null,
            reasons: out.reasons,
          });
        }
      }
      if (executions.length > 0) {
        const res = await target.writer.commit({ executions, rejected: [] });
        report.migrated += res.inserted;
        report.skipped += res.duplicates;
      }
      done += rows.length;
      opts.onProgress?.({ done, total: report.executionRows });
    }
    report.rejected = report.rejects.length;
    await target.writer.flushSummaries();
    if (report.migrated + report.skipped + report.rejected !== report.executionRows) {
      throw new Error(
        `hotstore migration counts do not reconcile: ${report.executionRows} found ≠ ${report.migrated} migrated + ${report.skipped} skipped + ${report.rejected} rejected`,
      );
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
