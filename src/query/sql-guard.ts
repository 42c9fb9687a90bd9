// `orb-learn query sql` runs one read-only statement: SELECT (or WITH … SELECT), nothing else.
import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { InvalidInputError } from '../errors.js';

export async function readOnlySelect(conn: DuckDBConnection, sql: string): Promise<string> {
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
  } catch (err) {
    throw new InvalidInputError(`sql: ${(err as Error).message}`);
  }
  if (extracted.count !== 1) throw new InvalidInputError(`sql: expected exactly one statement, got ${extracted.count}`);
  let prepared;
  try {
    prepared = await extracted.prepare(0);
  } catch (err) {
    throw new InvalidInputError(`sql: ${(err as Error).message}`);
  }
  if (prepared.statementType !== StatementType.SELECT)
    throw new InvalidInputError(`sql: only read-only SELECT statements are allowed (got ${StatementType[prepared.statementType]})`);
  prepared.destroySync();
  return sql;
}
