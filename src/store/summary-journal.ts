// The summary journal (schema/007_summary_journal.sql): the summaries of what each commit made new
// are journalled in that commit's transaction and merged into the summary tables in bulk later,
// which keeps ingest fast. Runs inside the writer's turn; it never takes one itself.
import type { DuckDBConnection } from '@duckdb/node-api';
import { inTransaction, sqlIdent, sqlString } from './sql.js';
import { EMPTIED_SUMMARY_ROWS, SUMMARY_TABLES, SummaryAccumulator } from './summaries.js';
import { TableWriter } from './table-writer.js';

const SUMMARY_COLUMNS = SUMMARY_TABLES.map((t) => ({ table: t.table, columns: t.columns.map((c) => c.name) }));

async function readJournal(conn: DuckDBConnection, catalog?: string): Promise<{ pending: SummaryAccumulator; nextSeq: number }> {
  const table = catalog ? `${sqlIdent(catalog)}.main.summary_journal` : 'summary_journal';
  const pending = new SummaryAccumulator();
  let nextSeq = 0;
  for (const [seq, deltas] of (await conn.runAndReadAll(`SELECT seq, deltas FROM ${table} ORDER BY seq`)).getRows()) {
    pending.merge(SummaryAccumulator.fromJSON(JSON.parse(String(deltas)) as Record<string, unknown[][]>));
    nextSeq = Math.max(nextSeq, Number(seq) + 1);
  }
  return { pending, nextSeq };
}

/** Runs the merge of `deltas` and `then`, in one transaction. */
async function mergeDeltas(conn: DuckDBConnection, tables: TableWriter, deltas: SummaryAccumulator, then: string, catalog?: string): Promise<void> {
  await inTransaction(conn, async (last) => {
    // Revisions (late GenAI calls) can empty a summary row: it goes in the same transaction.
    const emptied = EMPTIED_SUMMARY_ROWS.map((d) => (catalog ? d.replace('DELETE FROM ', `DELETE FROM ${sqlIdent(catalog)}.main.`) : d));
    last.push(...(await tables.upsertStatements(deltas.deltas(), catalog)), ...emptied, then);
  });
}

/**
 * Merges the summary journal of a database attached as `catalog` into its own summary tables,
 * in one transaction: a copy of the database (a snapshot) then reads as the source would after a flush.
 */
export async function mergeJournalInto(conn: DuckDBConnection, catalog: string): Promise<number> {
  const { pending } = await readJournal(conn, catalog);
  if (pending.size === 0) return 0;
  const tables = new TableWriter(conn);
  await tables.prepareUpserts(SUMMARY_COLUMNS);
  await mergeDeltas(conn, tables, pending, `DELETE FROM ${sqlIdent(catalog)}.main.summary_journal`, catalog);
  return pending.size;
}

export class SummaryJournal {
  /** Journalled, not yet merged. */
  private pending = new SummaryAccumulator();
  private seq = 0;

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly tables: TableWriter,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Summary rows journalled but not yet in the summary tables. */
  get size(): number {
    return this.pending.size;
  }

  /** Reads the deltas a stopped process journalled but did not merge; makes the staging tables (outside any transaction). */
  async load(): Promise<void> {
    await this.tables.prepareUpserts(SUMMARY_COLUMNS);
    const journal = await readJournal(this.conn);
    this.pending = journal.pending;
    this.seq = journal.nextSeq;
  }

  /**
   * Inside the commit's transaction: journals `delta`, returning the statement to send with the
   * COMMIT (a literal is cheapest there; a large one parses faster as a parameter, sent now).
   */
  async record(delta: SummaryAccumulator): Promise<string[]> {
    if (delta.size === 0) return [];
    const json = delta.serialize();
    if (json.length <= 65_536) return [`INSERT INTO summary_journal VALUES (${this.seq}, now(), ${sqlString(json)})`];
    await this.conn.run('INSERT INTO summary_journal VALUES ($1, now(), $2)', [this.seq, json]);
    return [];
  }

  /** After the commit only: a rolled-back transaction changes nothing here. */
  committed(delta: SummaryAccumulator): void {
    if (delta.size === 0) return;
    this.pending.merge(delta);
    this.seq++;
  }

  /** Merges every journalled delta into the summary tables, as a transaction of its own. */
  async merge(): Promise<void> {
    if (this.pending.size === 0) return;
    try {
      await mergeDeltas(this.conn, this.tables, this.pending, 'DELETE FROM summary_journal');
    } catch (err) {
      this.onError(err);
      await this.salvage();
    }
    this.pending = new SummaryAccumulator();
  }

  /**
   * The bulk merge failed: merge the journal row by row, and move a row that cannot merge to
   * summary_journal_failed with its error, so one bad delta blocks neither ingest nor a restart.
   */
  private async salvage(): Promise<void> {
    const rows = (await this.conn.runAndReadAll('SELECT seq, deltas FROM summary_journal ORDER BY seq')).getRows();
    for (const [seq, deltas] of rows) {
      try {
        const acc = SummaryAccumulator.fromJSON(JSON.parse(String(deltas)) as Record<string, unknown[][]>);
        await mergeDeltas(this.conn, this.tables, acc, `DELETE FROM summary_journal WHERE seq = ${Number(seq)}`);
      } catch (err) {
        this.onError(err);
        const reason = sqlString(String((err as Error).message ?? err).slice(0, 2000));
        await inTransaction(this.conn, async (last) => {
          last.push(
            `INSERT INTO summary_journal_failed SELECT seq, committed_at, deltas, ${reason}, now() FROM summary_journal WHERE seq = ${Number(seq)}`,
            `DELETE FROM summary_journal WHERE seq = ${Number(seq)}`,
          );
        });
      }
    }
  }
}

/** The summary tables whose columns all add up (keys and sums): a reader can sum over their rows and the journal's. */
export const ADDITIVE_SUMMARIES = SUMMARY_TABLES.filter((t) => t.columns.every((c) => c.combine === 'key' || c.combine === 'sum')).map((t) => t.table);

/**
 * For each additive summary table, a FROM source of the table as committed: its rows UNION ALL the
 * deltas still in the journal, read in one statement and so from one snapshot (a merge moves
 * deltas from the journal into the table in one transaction: nothing is seen twice or missed).
 * Readers sum over it, so they never wait for the writer to merge. Column types are read from the
 * database, so the schema stays their one definition.
 */
export async function committedSummarySources(conn: DuckDBConnection): Promise<Map<string, string>> {
  const types = new Map<string, string>();
  const rows = (await conn.runAndReadAll(`SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main'`)).getRows();
  for (const [table, column, type] of rows) types.set(`${String(table)}.${String(column)}`, String(type));
  const sources = new Map<string, string>();
  for (const t of SUMMARY_TABLES.filter((x) => ADDITIVE_SUMMARIES.includes(x.table))) {
    const cells = t.columns.map((c, i) => {
      const type = types.get(`${t.table}.${c.name}`);
      if (!type) throw new Error(`summary column ${t.table}.${c.name} is not in the database`);
      const cell = c.time ? `CAST(r->>${i} AS TIMESTAMP)` : `r->>${i}`;
      return `CAST(${cell} AS ${type}) AS ${sqlIdent(c.name)}`;
    });
    const names = t.columns.map((c) => sqlIdent(c.name)).join(', ');
    sources.set(
      t.table,
      `(SELECT ${names} FROM ${t.table} UNION ALL SELECT ${cells.join(', ')} FROM (SELECT unnest(CAST(deltas->${sqlString(`$.${t.table}`)} AS JSON[])) AS r FROM summary_journal))`,
    );
  }
  return sources;
}
