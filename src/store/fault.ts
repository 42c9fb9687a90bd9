// An invalidated database: after a fatal error (a checkpoint that hit a full disk or a read-only folder)
// DuckDB refuses every later statement on that instance for ever, whatever the cause does next. Only a new
// instance on the file (which replays the WAL) writes again: see server/recovery.ts.
import type { DuckDBConnection } from '@duckdb/node-api';

const INVALIDATED = /database has been invalidated|^FATAL Error|FATAL Error:/i;

/** What the operating system said, as DuckDB quotes it: the cause an operator can act on. */
const OS_CAUSES = /No space left on device|Disk quota exceeded|Read-only file system|Permission denied|Input\/output error|Too many open files|Cannot allocate memory|No such file or directory/i;

/**
 * The reason an error means the instance is invalidated, or null for an ordinary error. The reason leads
 * with the real cause ("No space left on device: Failed to create checkpoint ... Could not write file X"),
 * from DuckDB's "Original error" when the message is only the later "database has been invalidated" one.
 */
export function invalidationReason(err: unknown): string | null {
  const message = err instanceof Error ? err.message : String(err);
  if (!INVALIDATED.test(message)) return null;
  return causeOf(message);
}

/** The first fatal error's own words, led by the OS cause when DuckDB quotes one. */
export function causeOf(message: string): string {
  const original = /Original error: "([\s\S]*)"\s*$/.exec(message)?.[1] ?? message;
  // DuckDB's wrapping of a failed autocheckpoint says nothing the operator can act on.
  const detail = original
    .replace(/^FATAL Error:\s*/i, '')
    .replace(/Transaction COMMIT succeeded and is durable, but the autocheckpoint failed\. Reopen the database instance to recover\.\s*/i, '')
    .split('\n')[0]!
    .trim();
  const os = OS_CAUSES.exec(detail)?.[0];
  return (os && !detail.startsWith(os) ? `${os}: ${detail}` : detail).slice(0, 500);
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
