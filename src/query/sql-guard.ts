// `orb-learn query sql` runs one read-only statement: SELECT (or WITH … SELECT), nothing else.
// A SELECT can still act (SELECT * FROM checkpoint(), SELECT nextval('s')), read files (read_blob
// of the database's own WAL) or reveal the server (duckdb_settings(), duckdb_databases): the
// statement's syntax tree, from DuckDB's own parser (json_serialize_sql), is checked for those.
import { StatementType, type DuckDBConnection, type DuckDBTypeId } from '@duckdb/node-api';
import { InvalidInputError } from '../errors.js';

/** Table functions an analyst needs: generators and the catalog of tables. Every other one is refused. */
const TABLE_FUNCTIONS = new Set([
  'range', 'generate_series', 'unnest', 'repeat', 'repeat_row', 'json_each', 'json_tree', 'summary',
  'duckdb_tables', 'duckdb_columns', 'duckdb_views', 'duckdb_schemas', 'duckdb_types', 'duckdb_constraints',
  'duckdb_indexes', 'duckdb_functions', 'duckdb_keywords', 'duckdb_dependencies', 'duckdb_sequences',
  'pragma_table_info', 'pragma_show', 'pragma_version', 'pragma_collations', 'histogram', 'histogram_values',
  'icu_calendar_names', 'pg_timezone_names', 'test_all_types',
]);

/** Built-in views that show where the files are or how the server is set. */
const REFUSED_VIEWS = new Set(['duckdb_databases', 'pragma_database_list', 'pg_settings', 'duckdb_logs', 'duckdb_settings', 'duckdb_extensions', 'duckdb_secrets', 'duckdb_temporary_files']);

/**
 * Functions DuckDB marks as having side effects that only read the session's own state or make
 * random values: harmless. Every other function with side effects (nextval, setseed, write_log,
 * sleep_ms, ...) is refused, and so are the settings.
 */
const HARMLESS_SIDE_EFFECTS = new Set([
  'random', 'uuid', 'gen_random_uuid', 'uuidv4', 'uuidv7', 'error', 'stats',
  'current_query', 'current_query_id', 'current_connection_id', 'current_transaction_id',
]);
const REFUSED_SCALARS = new Set(['current_setting', 'getenv', 'getvariable']);

let sideEffects: Promise<Set<string>> | null = null;

function functionsWithSideEffects(conn: DuckDBConnection): Promise<Set<string>> {
  sideEffects ??= conn
    .runAndReadAll('SELECT DISTINCT function_name FROM duckdb_functions() WHERE has_side_effects')
    .then((r) => new Set(r.getRows().map((row) => String(row[0]).toLowerCase())));
  return sideEffects;
}

interface Node {
  [key: string]: unknown;
}

/** The first reason the syntax tree may not run, or null. */
function refusal(tree: unknown, sideEffecting: Set<string>): string | null {
  const stack: unknown[] = [tree];
  while (stack.length) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    const n = node as Node;
    if (n.type === 'TABLE_FUNCTION') {
      const fn = n.function as Node | undefined;
      const name = String(fn?.function_name ?? '').toLowerCase();
      if (!TABLE_FUNCTIONS.has(name))
        return `the table function ${name}() is not allowed: it writes, flushes, reads files or shows the server's settings (query the tables by name)`;
      stack.push(fn?.children);
      continue;
    }
    if (n.class === 'FUNCTION') {
      const name = String(n.function_name ?? '').toLowerCase();
      if (REFUSED_SCALARS.has(name)) return `${name}() is not allowed: the server's settings are not part of the data`;
      if (sideEffecting.has(name) && !HARMLESS_SIDE_EFFECTS.has(name)) return `${name}() is not allowed: it has side effects`;
    }
    if (n.type === 'BASE_TABLE') {
      const name = String(n.table_name ?? '');
      if (REFUSED_VIEWS.has(name.toLowerCase())) return `${name} is not allowed: it shows the server's files or settings`;
      if (/[./\\]/.test(name)) return `${JSON.stringify(name)} looks like a file: only the database's tables can be queried`;
    }
    for (const v of Object.values(n)) if (v !== null && typeof v === 'object') stack.push(v);
  }
  return null;
}

export interface CheckedSelect {
  /** The statement, bare (no trailing semicolon), to be wrapped as a subquery. */
  sql: string;
  columns: { name: string; typeId: DuckDBTypeId }[];
}

export async function readOnlySelect(conn: DuckDBConnection, sql: string): Promise<CheckedSelect> {
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
  } catch (err) {
    throw new InvalidInputError(`sql: ${(err as Error).message}`);
  }
  if (extracted.count !== 1) throw new InvalidInputError(`sql: expected exactly one statement, got ${extracted.count}`);
  // The syntax tree is checked before anything binds: binding alone may open a file (FROM 'x.duckdb').
  const serialized = (await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql])).getRows()[0]![0];
  const tree = JSON.parse(String(serialized)) as { error: boolean; error_message?: string; statements?: unknown[] };
  // PRAGMA database_list prepares as a SELECT, but is no plain SELECT statement.
  if (tree.error) throw new InvalidInputError('sql: only read-only SELECT statements are allowed (this one is not a plain SELECT)');
  const why = refusal(tree.statements, await functionsWithSideEffects(conn));
  if (why) throw new InvalidInputError(`sql: ${why}`);
  let prepared;
  try {
    prepared = await extracted.prepare(0);
  } catch (err) {
    throw new InvalidInputError(`sql: ${(err as Error).message}`);
  }
  try {
    if (prepared.statementType !== StatementType.SELECT)
      throw new InvalidInputError(`sql: only read-only SELECT statements are allowed (got ${StatementType[prepared.statementType]})`);
    const columns = Array.from({ length: prepared.columnCount }, (_, i) => ({ name: prepared.columnName(i), typeId: prepared.columnTypeId(i) }));
    // Bare, so that it can be wrapped as a subquery: no trailing semicolon (nor comment after it).
    return { sql: sql.trim().replace(/;(\s|--[^\n]*)*$/, ''), columns };
  } finally {
    prepared.destroySync();
  }
}
