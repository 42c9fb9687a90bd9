// Versioned SQL migrations from schema/NNN_name.sql, applied once each, in order, at start.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { SCHEMA_DIR } from '../paths.js';
import { inTransaction } from './sql.js';


export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = SCHEMA_DIR): Migration[] {
  const seen = new Set<number>();
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .map((f) => {
      const version = Number(f.slice(0, f.indexOf('_')));
      if (seen.has(version)) throw new Error(`two migrations share version ${version} in ${dir}`);
      seen.add(version);
      return { version, name: f, sql: readFileSync(join(dir, f), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
}

/** Applies what is missing, each migration in its own transaction; returns the versions applied. */
export async function migrate(conn: DuckDBConnection, migrations = loadMigrations()): Promise<number[]> {
  await conn.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT now())`);
  const done = new Set(
    (await conn.runAndReadAll('SELECT version FROM schema_migrations')).getRows().map((r) => Number(r[0])),
  );
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    try {
      await inTransaction(conn, async () => {
        await conn.run(m.sql);
        await conn.run('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      });
    } catch (err) {
      throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
    }
    applied.push(m.version);
  }
  // Schema changes go into the file at once: DuckDB cannot replay from its WAL an ALTER of a table
  // with generated columns (011 adds summary columns), so a kill -9 before the next checkpoint
  // would leave a database that does not open.
  if (applied.length > 0) await conn.run('CHECKPOINT');
  return applied;
}

export async function schemaVersion(conn: DuckDBConnection): Promise<number> {
  const r = await conn.runAndReadAll('SELECT coalesce(max(version), 0) FROM schema_migrations');
  return Number(r.getRows()[0]![0]);
}
