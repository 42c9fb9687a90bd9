// A few read connections on the process's one DuckDB instance, so queries run beside the writer
// and beside each other. A query past its time limit is interrupted.
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeadlineError } from '../errors.js';

export class ReadPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiting: ((c: DuckDBConnection) => void)[] = [];

  constructor(
    connections: DuckDBConnection[],
    readonly timeoutMs: number,
  ) {
    this.idle.push(...connections);
  }

  static async open(connect: () => Promise<DuckDBConnection>, size: number, timeoutMs: number): Promise<ReadPool> {
    const conns: DuckDBConnection[] = [];
    for (let i = 0; i < size; i++) conns.push(await connect());
    return new ReadPool(conns, timeoutMs);
  }

  async use<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = this.idle.pop() ?? (await new Promise<DuckDBConnection>((r) => this.waiting.push(r)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      conn.interrupt();
    }, this.timeoutMs);
    try {
      const result = await fn(conn);
      // An interrupted stream ends as if it were complete: what was read may be partial.
      if (timedOut) throw new DeadlineError(`query interrupted after ${this.timeoutMs} ms`);
      return result;
    } catch (err) {
      if (timedOut) throw new DeadlineError(`query interrupted after ${this.timeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(timer);
      const next = this.waiting.shift();
      if (next) next(conn);
      else this.idle.push(conn);
    }
  }

  close(): void {
    for (const c of this.idle.splice(0)) c.closeSync();
  }
}
