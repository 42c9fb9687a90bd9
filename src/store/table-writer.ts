// The I/O half of a commit: TableWrites appended in DataChunks, in one transaction. Redeliveries
// are rare, so a group is first appended straight into its table; if the primary key refuses it,
// the transaction is rolled back and redone through a temp staging table with ON CONFLICT DO
// NOTHING. Either way a redelivered span never duplicates a row: first write wins.
import { DuckDBDataChunkWriter, JSToDuckDBValueConverter, type DuckDBConnection } from '@duckdb/node-api';
import type { Cell, TableWrite } from './rows.js';
import { inTransaction, sqlIdent } from './sql.js';
import type { SummaryDelta } from './summaries.js';

const DUPLICATE_KEY = /PRIMARY KEY or UNIQUE constraint violation|duplicate key/i;

/** Writes TableWrites in one transaction, never duplicating a key. */
export class TableWriter {
  private readonly staged = new Set<string>();

  constructor(private readonly conn: DuckDBConnection) {}

  private async stagingFor(w: { table: string; columns: readonly string[] }): Promise<string> {
    const name = `staging_${w.table}`;
    if (!this.staged.has(name)) {
      const cols = w.columns.map(sqlIdent).join(', ');
      await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${sqlIdent(name)} AS SELECT ${cols} FROM ${sqlIdent(w.table)} LIMIT 0`);
      this.staged.add(name);
    }
    return name;
  }

  private async append(table: string, schema: string, catalog: string | null, rows: readonly Cell[][]): Promise<void> {
    const appender = await this.conn.createAppender(table, schema, catalog);
    try {
      const chunks = DuckDBDataChunkWriter.forAppender(appender, { converter: JSToDuckDBValueConverter });
      for (const row of rows) chunks.appendRow(row);
      chunks.flush();
      appender.flushSync();
    } catch (err) {
      // A failed appender must be emptied before it is closed: left holding rows, it flushes them
      // again when finalized and aborts whatever transaction the connection runs by then.
      try {
        appender.clear();
        appender.closeSync();
      } catch {
        /* the first error is the one to report */
      }
      throw err;
    }
    appender.closeSync();
  }

  /** Writes one table's rows; returns the keys that were new (null: all of them). */
  private async apply(w: TableWrite, mode: 'append' | 'merge'): Promise<Set<string> | null> {
    if (w.rows.length === 0) return new Set();
    if (mode === 'append') {
      await this.append(w.table, 'main', null, w.rows);
      return null;
    }
    const staging = await this.stagingFor(w);
    await this.append(staging, 'main', 'temp', w.rows);
    const cols = w.columns.map(sqlIdent).join(', ');
    const res = await this.conn.runAndReadAll(
      `INSERT INTO ${sqlIdent(w.table)} (${cols}) SELECT ${cols} FROM temp.main.${sqlIdent(staging)} ON CONFLICT DO NOTHING RETURNING ${sqlIdent(w.key)}::VARCHAR`,
    );
    await this.conn.run(`DELETE FROM temp.main.${sqlIdent(staging)}`);
    return new Set(res.getRows().map((r) => String(r[0])));
  }

  /**
   * Stages each delta and returns the statements that merge it into its summary table
   * (ON CONFLICT (keys) DO UPDATE SET merge), for the caller to send with others in one call:
   * each round trip costs more than the statement. Inside a transaction.
   */
  async upsertStatements(deltas: readonly SummaryDelta[], catalog?: string): Promise<string[]> {
    const target = (t: string) => (catalog ? `${sqlIdent(catalog)}.main.${sqlIdent(t)}` : sqlIdent(t));
    const statements: string[] = [];
    for (const d of deltas) {
      if (d.rows.length === 0) continue;
      const staging = await this.stagingFor(d);
      await this.append(staging, 'main', 'temp', d.rows);
      const cols = d.columns.map(sqlIdent).join(', ');
      statements.push(
        `INSERT INTO ${target(d.table)} (${cols}) SELECT ${cols} FROM temp.main.${sqlIdent(staging)} ON CONFLICT (${d.keys.map(sqlIdent).join(', ')}) DO UPDATE SET ${d.merge}`,
        `DELETE FROM temp.main.${sqlIdent(staging)}`,
      );
    }
    return statements;
  }

  /** Creates what upsert needs outside any transaction (a rollback would drop a temp table made inside). */
  async prepareUpserts(tables: readonly { table: string; columns: readonly string[] }[]): Promise<void> {
    for (const t of tables) await this.stagingFor(t);
  }

  private async transaction(writes: TableWrite[], mode: 'append' | 'merge', within?: WithinTransaction): Promise<number[]> {
    // Staging tables are made outside the transaction, so a rollback cannot take them away.
    if (mode === 'merge') for (const w of writes) if (w.rows.length > 0) await this.stagingFor(w);
    const inserted: (Set<string> | null)[] = [];
    await inTransaction(this.conn, async (last) => {
      for (const w of writes) inserted.push(await this.apply(w, mode));
      last.push(...((await within?.(inserted)) ?? []));
    });
    return inserted.map((keys, i) => (keys === null ? writes[i]!.rows.length : keys.size));
  }

  /**
   * Returns, for each write, how many of its rows were new. `within` runs inside the same
   * transaction with the new keys of each write (null: every row was new); the statements it
   * returns run last, with the COMMIT.
   */
  async write(writes: TableWrite[], within?: WithinTransaction): Promise<number[]> {
    try {
      return await this.transaction(writes, 'append', within);
    } catch (err) {
      if (!DUPLICATE_KEY.test((err as Error).message)) throw err;
      return await this.transaction(writes, 'merge', within);
    }
  }
}

export type WithinTransaction = (inserted: (Set<string> | null)[]) => Promise<string[] | void>;
