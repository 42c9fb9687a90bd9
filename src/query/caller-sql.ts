// The caller's SQL (/v1/query/sql), on one connection: checked read-only, read within a row and byte
// cap and a deadline. The same code runs in the server's process (live tables) and in the SQL
// process over the snapshot (sql-process.ts).
import type { DuckDBConnection } from '@duckdb/node-api';
import { executionsSource, feedbackSource } from '../store/archive-layout.js';
import { readCapped, userSqlError } from './result.js';
import { readOnlySelect } from './sql-guard.js';

export interface CallerSql {
  query: string;
  max_rows: number;
  include_archive?: boolean;
}

export interface CallerSqlResult {
  rows: Record<string, unknown>[];
  notes: string[];
  explain?: string;
}

export async function runCallerSql(conn: DuckDBConnection, deadline: number, p: CallerSql, o: { archiveDir: string | null; maxResultBytes: number; explain: boolean }): Promise<CallerSqlResult> {
  if (p.include_archive) {
    await conn.run(`CREATE OR REPLACE TEMP VIEW all_executions AS SELECT * FROM ${executionsSource(o.archiveDir)}`);
    await conn.run(`CREATE OR REPLACE TEMP VIEW all_feedback AS SELECT * FROM ${feedbackSource(o.archiveDir)}`);
  }
  const select = await readOnlySelect(conn, p.query);
  // The caller's SQL failing (a refused file, a bad cast) is a 400, not our 500.
  const { rows, truncated } = await readCapped(conn, select, { maxRows: p.max_rows, maxBytes: o.maxResultBytes, deadline });
  const notes = truncated ? [`truncated at ${p.max_rows} rows`] : [];
  if (!o.explain) return { rows, notes };
  const r = await conn.runAndReadAll(`EXPLAIN ANALYZE ${select.sql}`).catch(userSqlError);
  return { rows, notes, explain: r.getRows().map((row) => String(row[row.length - 1])).join('\n') };
}
