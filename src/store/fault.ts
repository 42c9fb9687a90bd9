// An invalidated database: after a fatal error (a checkpoint that hit a full disk or a read-only folder)
// DuckDB refuses every later statement on that instance for ever, whatever the cause does next. The process
// must then say so on its probes: nothing it acknowledges can be stored until the file is reopened.
import type { DuckDBConnection } from '@duckdb/node-api';

const INVALIDATED = /database has been invalidated|^FATAL Error|FATAL Error:/i;

/** The reason an error means the instance is invalidated, or null for an ordinary error. */
export function invalidationReason(err: unknown): string | null {
  const message = err instanceof Error ? err.message : String(err);
  return INVALIDATED.test(message) ? message.split('\n')[0]!.slice(0, 500) : null;
}

export type StoreHealth = { ok: true } | { ok: false; reason: string; since: Date };

/** Tracks whether the instance still answers; once invalidated it stays so (DuckDB does not come back). */
export class FaultWatch {
  private fault: { reason: string; since: Date } | null = null;

  /** Records an error seen anywhere on the instance; true if it invalidated the database. */
  note(err: unknown): boolean {
    const reason = invalidationReason(err);
    if (reason && !this.fault) this.fault = { reason, since: new Date() };
    return reason !== null;
  }

  /** A cheap statement on a connection of the instance tells whether it still runs anything. */
  async check(conn: DuckDBConnection): Promise<StoreHealth> {
    if (!this.fault) {
      try {
        await conn.run('SELECT 1');
      } catch (err) {
        if (!this.note(err)) throw err;
      }
    }
    return this.fault ? { ok: false, ...this.fault } : { ok: true };
  }
}
