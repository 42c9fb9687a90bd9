// The I/O half of a commit: one transaction per group of requests, rows appended in DataChunks.
// Redeliveries are rare, so a group is first appended straight into its table; if the primary
// key refuses it, the transaction is rolled back and redone through a temp staging table with
// ON CONFLICT DO NOTHING. Either way a redelivered span never duplicates a row: first write wins.
import { DuckDBDataChunkWriter, JSToDuckDBValueConverter, type DuckDBConnection } from '@duckdb/node-api';
import type { ExecutionRow } from '../convert/record.js';
import type { RejectedSpan } from '../convert/span-to-record.js';
import { executionWrite, rejectedWrite, type TableWrite } from './rows.js';

export interface CommitBatch {
  executions: readonly ExecutionRow[];
  rejected: readonly RejectedSpan[];
}

export interface CommitResult {
  inserted: number;
  duplicates: number;
  rejectedStored: number;
}

const DUPLICATE_KEY = /PRIMARY KEY or UNIQUE constraint violation|duplicate key/i;

const q = (ident: string) => `"${ident.replaceAll('"', '""')}"`;

/** Writes TableWrites in one transaction, never duplicating a key. */
export class TableWriter {
  private readonly staged = new Set<string>();

  constructor(private readonly conn: DuckDBConnection) {}

  private async stagingFor(w: TableWrite): Promise<string> {
    const name = `staging_${w.table}`;
    if (!this.staged.has(name)) {
      const cols = w.columns.map(q).join(', ');
      await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${q(name)} AS SELECT ${cols} FROM ${q(w.table)} LIMIT 0`);
      this.staged.add(name);
    }
    return name;
  }

  private async append(table: string, schema: string, catalog: string | null, w: TableWrite): Promise<void> {
    const appender = await this.conn.createAppender(table, schema, catalog);
    try {
      const chunks = DuckDBDataChunkWriter.forAppender(appender, { converter: JSToDuckDBValueConverter });
      for (const row of w.rows) chunks.appendRow(row);
      chunks.flush();
      appender.flushSync();
    } catch (err) {
      // Closing an appender whose flush failed fails again ("transaction is aborted"): keep the first error.
      try {
        appender.closeSync();
      } catch {
        /* already reported */
      }
      throw err;
    }
    appender.closeSync();
  }

  /** Writes one table's rows; returns how many were new. */
  private async apply(w: TableWrite, mode: 'append' | 'merge'): Promise<number> {
    if (w.rows.length === 0) return 0;
    if (mode === 'append') {
      await this.append(w.table, 'main', null, w);
      return w.rows.length;
    }
    const staging = await this.stagingFor(w);
    await this.append(staging, 'main', 'temp', w);
    const cols = w.columns.map(q).join(', ');
    const res = await this.conn.run(
      `INSERT INTO ${q(w.table)} (${cols}) SELECT ${cols} FROM temp.main.${q(staging)} ON CONFLICT DO NOTHING`,
    );
    await this.conn.run(`DELETE FROM temp.main.${q(staging)}`);
    return Number(res.rowsChanged);
  }

  private async transaction(writes: TableWrite[], mode: 'append' | 'merge'): Promise<number[]> {
    // Staging tables are made outside the transaction, so a rollback cannot take them away.
    if (mode === 'merge') for (const w of writes) if (w.rows.length > 0) await this.stagingFor(w);
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const counts: number[] = [];
      for (const w of writes) counts.push(await this.apply(w, mode));
      await this.conn.run('COMMIT');
      return counts;
    } catch (err) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Returns, for each write, how many of its rows were new. */
  async write(writes: TableWrite[]): Promise<number[]> {
    try {
      return await this.transaction(writes, 'append');
    } catch (err) {
      if (!DUPLICATE_KEY.test((err as Error).message)) throw err;
      return await this.transaction(writes, 'merge');
    }
  }
}

export class ExecutionWriter {
  private readonly tables: TableWriter;

  constructor(conn: DuckDBConnection) {
    this.tables = new TableWriter(conn);
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const [inserted = 0, rejectedStored = 0] = await this.tables.write([executionWrite(batch.executions), rejectedWrite(batch.rejected)]);
    return { inserted, duplicates: batch.executions.length - inserted, rejectedStored };
  }
}
