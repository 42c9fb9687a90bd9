// The I/O half of a commit: one transaction per group of requests. Rows go to a temp staging
// table in DataChunks, then into the real table with ON CONFLICT DO NOTHING, so a redelivered
// span never duplicates a row (first write wins) and the key check stays in DuckDB.
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

const q = (ident: string) => `"${ident.replaceAll('"', '""')}"`;

export class ExecutionWriter {
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

  /** Appends, then inserts what is new; returns how many rows were new. */
  private async apply(w: TableWrite): Promise<number> {
    if (w.rows.length === 0) return 0;
    const staging = await this.stagingFor(w);
    const appender = await this.conn.createAppender(staging, 'main', 'temp');
    try {
      const chunks = DuckDBDataChunkWriter.forAppender(appender, { converter: JSToDuckDBValueConverter });
      for (const row of w.rows) chunks.appendRow(row);
      chunks.flush();
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    const cols = w.columns.map(q).join(', ');
    const res = await this.conn.run(
      `INSERT INTO ${q(w.table)} (${cols}) SELECT ${cols} FROM temp.main.${q(staging)} ON CONFLICT DO NOTHING`,
    );
    await this.conn.run(`DELETE FROM temp.main.${q(staging)}`);
    return Number(res.rowsChanged);
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const executions = executionWrite(batch.executions);
    const rejected = rejectedWrite(batch.rejected);
    await this.prepare([executions, rejected]);
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const inserted = await this.apply(executions);
      const rejectedStored = await this.apply(rejected);
      await this.conn.run('COMMIT');
      return { inserted, duplicates: batch.executions.length - inserted, rejectedStored };
    } catch (err) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private async prepare(writes: TableWrite[]): Promise<void> {
    for (const w of writes) if (w.rows.length > 0) await this.stagingFor(w);
  }
}
