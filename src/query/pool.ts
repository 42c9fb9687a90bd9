// A few read connections on the process's one DuckDB instance, so queries run beside the writer
// and beside each other. Each DuckDB call holds a libuv worker thread while it runs, and the writer,
// gzip and file I/O need those threads too: the pool never runs more queries at once than leaves
// two of them free, and the caller's own SQL gets fewer lanes still. A query's time limit covers
// the whole request: waiting for a connection, running, and converting the result.
import type { DuckDBConnection } from '@duckdb/node-api';
import { DeadlineError } from '../errors.js';

/** libuv's worker threads: UV_THREADPOOL_SIZE, read by libuv at start, 4 unless set. */
export function uvThreads(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 4;
}

/** Queries that may run at once and still leave two libuv threads for ingest. */
export function readConcurrency(connections: number, threads = uvThreads()): number {
  return Math.max(1, Math.min(connections, threads - 2));
}

/** A counting semaphore whose waiters give up at a deadline. */
export class Slots {
  private free: number;
  private readonly waiting: { grant: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  acquire(deadline: number, what: string): Promise<() => void> {
    const release = () => {
      const next = this.waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        next.grant();
      } else this.free++;
    };
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => resolve(release),
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          reject(new DeadlineError(`query waited for ${what} past its time limit: too many queries at once`));
        }, Math.max(0, deadline - performance.now())),
      };
      this.waiting.push(entry);
    });
  }
}

export interface ReadPoolUse {
  /** A lane the query must also hold (the caller's SQL has its own, narrower one). */
  lane?: Slots;
}

export class ReadPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly running: Slots;

  constructor(
    connections: DuckDBConnection[],
    readonly timeoutMs: number,
    concurrency = readConcurrency(connections.length),
  ) {
    this.idle.push(...connections);
    this.running = new Slots(Math.min(concurrency, connections.length));
  }

  static async open(connect: () => Promise<DuckDBConnection>, size: number, timeoutMs: number): Promise<ReadPool> {
    const conns: DuckDBConnection[] = [];
    for (let i = 0; i < size; i++) conns.push(await connect());
    return new ReadPool(conns, timeoutMs);
  }

  get concurrency(): number {
    return this.running.size;
  }

  /** Runs fn on a connection; `deadline` (performance.now() time) is when the request is cut off. */
  async use<T>(fn: (conn: DuckDBConnection, deadline: number) => Promise<T>, opts: ReadPoolUse = {}): Promise<T> {
    const deadline = performance.now() + this.timeoutMs;
    const releaseLane = opts.lane ? await opts.lane.acquire(deadline, 'a SQL lane') : () => undefined;
    let release: () => void;
    try {
      release = await this.running.acquire(deadline, 'a read connection');
    } catch (err) {
      releaseLane();
      throw err;
    }
    const conn = this.idle.pop()!;
    let timedOut = false;
    let again: NodeJS.Timeout | undefined;
    // An interrupt that lands between two statements is lost (the next one clears it): repeat it
    // until fn is done, so no statement of a late request runs on unbounded.
    const timer = setTimeout(() => {
      timedOut = true;
      conn.interrupt();
      again = setInterval(() => conn.interrupt(), 50);
    }, Math.max(0, deadline - performance.now()));
    try {
      const result = await fn(conn, deadline);
      // An interrupted stream ends as if it were complete: what was read may be partial.
      if (timedOut) throw new DeadlineError(`query interrupted after ${this.timeoutMs} ms`);
      return result;
    } catch (err) {
      if (timedOut && !(err instanceof DeadlineError)) throw new DeadlineError(`query interrupted after ${this.timeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(timer);
      clearInterval(again);
      this.idle.push(conn);
      release();
      releaseLane();
    }
  }

  close(): void {
    for (const c of this.idle.splice(0)) c.closeSync();
  }
}
