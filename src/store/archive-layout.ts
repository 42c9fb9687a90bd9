// The archive's layout and its read side: which hot tables are archived, where their Parquet lives
//
//   <archive-dir>/executions/year=2026/month=01/<run_id>_0.parquet
//   <archive-dir>/feedback/year=2026/month=01/<run_id>_0.parquet     (month of the execution)
//   <archive-dir>/embeddings/year=2026/month=01/<run_id>_0.parquet   (int8 codes + scale as stored)
//
// and the sources a query reads from (hot table UNION ALL BY NAME the archive). The run that
// writes it is archive.ts.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sqlIdent, sqlString } from './sql.js';

export interface ArchivedTable {
  /** Hot table. */
  table: string;
  /** Folder under the archive dir. */
  dir: string;
  key: readonly string[];
}

export const EXECUTIONS: ArchivedTable = { table: 'executions', dir: 'executions', key: ['task_id'] };
export const FEEDBACK: ArchivedTable = { table: 'feedback', dir: 'feedback', key: ['feedback_id'] };
export const EMBEDDINGS: ArchivedTable = { table: 'execution_embeddings', dir: 'embeddings', key: ['task_id', 'model_id'] };
export const ARCHIVED_TABLES: readonly ArchivedTable[] = [EXECUTIONS, FEEDBACK, EMBEDDINGS];
export const STAGING = '.staging';

export type ArchiveKind = 'executions' | 'feedback' | 'embeddings';

/** The glob of one archived table's Parquet files. */
export function archiveGlob(archiveDir: string, kind: ArchiveKind = 'executions'): string {
  return `${resolve(archiveDir)}/${kind}/**/*.parquet`;
}

/**
 * A read_parquet() over one archived table: hive columns year and month (INTEGER, whatever the
 * folder names look like), and union_by_name so files written before a schema change still read.
 */
export function archiveReadSql(archiveDir: string, kind: ArchiveKind = 'executions'): string {
  return `read_parquet(${sqlString(archiveGlob(archiveDir, kind))}, hive_partitioning = true, union_by_name = true, hive_types = {'year': INTEGER, 'month': INTEGER})`;
}

/** Whether the archive holds any Parquet file for this table (read_parquet fails on an empty glob). */
export function hasArchive(archiveDir: string | null | undefined, kind: ArchiveKind = 'executions'): boolean {
  if (!archiveDir) return false;
  const dir = join(resolve(archiveDir), kind);
  return existsSync(dir) && (readdirSync(dir, { recursive: true }) as string[]).some((f) => f.endsWith('.parquet'));
}

function archivedSource(t: ArchivedTable, kind: ArchiveKind, archiveDir: string | null | undefined): string {
  if (!hasArchive(archiveDir, kind)) return t.table;
  const on = t.key.map((k) => `h.${sqlIdent(k)} = a.${sqlIdent(k)}`).join(' AND ');
  return `(SELECT * FROM ${t.table} UNION ALL BY NAME SELECT a.* EXCLUDE (year, month) FROM ${archiveReadSql(archiveDir!, kind)} AS a ANTI JOIN ${t.table} AS h ON ${on})`;
}

/**
 * What a query reads executions from: `executions`, or (when archiveDir holds archived
 * executions) the hot table UNION ALL BY NAME the archive, as a parenthesized subquery to use as
 * `FROM ${executionsSource(dir)} AS e`. Every execution appears exactly once: an archived row
 * whose task_id is still hot (the instant between a run's file move and its delete commit, or a
 * run interrupted there) is left out in favour of the hot one. Decided when called: call it per
 * query, so an archive made since is seen.
 */
export function executionsSource(archiveDir: string | null | undefined): string {
  return archivedSource(EXECUTIONS, 'executions', archiveDir);
}

/** The same for feedback. */
export function feedbackSource(archiveDir: string | null | undefined): string {
  return archivedSource(FEEDBACK, 'feedback', archiveDir);
}

/** The same for execution_embeddings (archived with --with-vectors). */
export function embeddingsSource(archiveDir: string | null | undefined): string {
  return archivedSource(EMBEDDINGS, 'embeddings', archiveDir);
}
