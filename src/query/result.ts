// The caller's SQL result, read within a byte cap and a deadline, a chunk at a time, yielding to
// the event loop between slices so that a large result never stalls ingest. Each row's size is
// measured by DuckDB (its JSON length) before the row is converted: a 100 MB value is refused
// without ever becoming a JS string.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DuckDBTypeId, JSDuckDBValueConverter, JsonDuckDBValueConverter, type DuckDBConnection, type DuckDBValueConverter } from '@duckdb/node-api';
import { DeadlineError, InvalidInputError } from '../errors.js';
import type { CheckedSelect } from './sql-guard.js';

/**
 * DuckDB values → JSON-ready values: integers past 2^53 (HUGEINT, UBIGINT) as exact decimal
 * strings, dates outside JS's range ('infinity', year 294247) and NaN as DuckDB prints them.
 */
export const jsonSafe: DuckDBValueConverter<unknown> = (value, type, converter) => {
  let v: unknown;
  try {
    v = JSDuckDBValueConverter(value, type, converter as never);
  } catch {
    return JsonDuckDBValueConverter(value, type, JsonDuckDBValueConverter);
  }
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? JsonDuckDBValueConverter(value, type, JsonDuckDBValueConverter) : v.toISOString();
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v instanceof Uint8Array) return String(value);
  return v;
};

export interface ReadLimits {
  maxRows: number;
  maxBytes: number;
  /** performance.now() past which the request is cut off, conversion included. */
  deadline: number;
}

/** JSON bytes of a value of a fixed-width type, at most (numbers, dates, UUIDs). */
const FIXED_BYTES = 48;

/** SQL for a column's size in JSON, cheap for strings (their length, not a copy) and exact enough for the cap. */
function sizeOf(column: string, typeId: DuckDBTypeId): string {
  switch (typeId) {
    case DuckDBTypeId.VARCHAR:
      return `coalesce(strlen(${column}), 0)`;
    case DuckDBTypeId.BLOB:
      return `coalesce(octet_length(${column}) * 4, 0)`;
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.UNION:
    case DuckDBTypeId.VARIANT:
    case DuckDBTypeId.BIT:
    case DuckDBTypeId.ENUM:
      return `coalesce(strlen(to_json(${column})::VARCHAR), 0)`;
    default:
      return String(FIXED_BYTES);
  }
}

const BYTES = '__orb_row_bytes';
/** Converted bytes between two yields to the event loop. */
const SLICE_BYTES = 256 * 1024;

export function userSqlError(err: unknown): never {
  throw new InvalidInputError(`sql: ${(err as Error).message}`, { cause: err });
}

export async function readCapped(conn: DuckDBConnection, select: CheckedSelect, limits: ReadLimits): Promise<{ rows: Record<string, unknown>[]; truncated: boolean }> {
  const expired = () => {
    if (performance.now() > limits.deadline) throw new DeadlineError('sql: the query and the conversion of its result ran past the time limit');
  };
  // Columns renamed by position: the caller's names may repeat or be anything.
  const cols = select.columns.map((_, i) => `c${i}`);
  const size = select.columns.map((c, i) => sizeOf(cols[i]!, c.typeId)).join(' + ') || '0';
  expired();
  const result = await conn
    .stream(`SELECT ${[...cols, `${size} + ${cols.length + 2} AS ${BYTES}`].join(', ')} FROM (\n${select.sql}\n) AS q(${cols.join(', ')}) LIMIT ${limits.maxRows + 1}`)
    .catch(userSqlError);
  const names = select.columns.map((c) => c.name);
  const rows: Record<string, unknown>[] = [];
  let bytes = 0;
  let sinceYield = 0;
  for (;;) {
    expired();
    const chunk = await result.fetchChunk().catch(userSqlError);
    if (!chunk || chunk.rowCount === 0) break;
    const sizes = chunk.getColumnValues(names.length);
    for (let i = 0; i < chunk.rowCount; i++) {
      if (rows.length === limits.maxRows) return { rows, truncated: true };
      const size = Number(sizes[i] ?? 0);
      bytes += size;
      if (bytes > limits.maxBytes)
        throw new InvalidInputError(
          `sql: the result exceeds the ${limits.maxBytes}-byte limit (queryMaxResultBytes) at row ${rows.length + 1}: select fewer or narrower columns, or fewer rows`,
        );
      const values = chunk.convertRowValues(i, jsonSafe);
      const row: Record<string, unknown> = {};
      names.forEach((n, j) => (row[n] = values[j]));
      rows.push(row);
      sinceYield += size;
      if (sinceYield > SLICE_BYTES) {
        sinceYield = 0;
        await yieldToLoop();
        expired();
      }
    }
  }
  return { rows, truncated: false };
}

/** A query result as JSON, its rows stringified in slices with the event loop served between them. */
export async function jsonInSlices(result: { rows: Record<string, unknown>[] } & Record<string, unknown>): Promise<Buffer> {
  const { rows, ...rest } = result;
  const parts: string[] = [];
  let since = 0;
  for (const r of rows) {
    const s = JSON.stringify(r);
    parts.push(s);
    since += s.length;
    if (since > SLICE_BYTES) {
      since = 0;
      await yieldToLoop();
    }
  }
  const head = JSON.stringify(rest);
  return Buffer.from(`${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"rows":[${parts.join(',')}]}`);
}
