// SQL text and transactions: one definition of each, for every module that talks to DuckDB.
import type { DuckDBConnection } from '@duckdb/node-api';

/** A string as a SQL literal. */
export const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** A name as a quoted SQL identifier. */
export const sqlIdent = (ident: string): string => `"${ident.replaceAll('"', '""')}"`;

/** A Date as a TIMESTAMP literal (UTC). */
export const sqlTimestamp = (d: Date): string => `TIMESTAMP ${sqlString(d.toISOString().replace('T', ' ').replace('Z', ''))}`;

/**
 * Runs fn in a transaction on conn: committed if it returns, rolled back if it throws (the first
 * error is the one reported). Statements fn pushes onto `last` go to DuckDB with the COMMIT, in
 * one call: each round trip costs more than the statement.
 */
export async function inTransaction<T>(conn: DuckDBConnection, fn: (last: string[]) => Promise<T>): Promise<T> {
  await conn.run('BEGIN TRANSACTION');
  try {
    const last: string[] = [];
    const result = await fn(last);
    await conn.run([...last, 'COMMIT'].join(';\n'));
    return result;
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** A lowercase UUID: safe to put into SQL text as it stands. */
export const SQL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
