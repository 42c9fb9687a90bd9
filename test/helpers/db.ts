// Reads a DuckDB file that no process holds (a server that has stopped or been killed).
import { DuckDBInstance } from '@duckdb/node-api';

export async function readFile(db: string, sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(db);
  const conn = await instance.connect();
  const rows = (await conn.runAndReadAll(sql)).getRowsJS();
  conn.closeSync();
  instance.closeSync();
  return rows;
}
