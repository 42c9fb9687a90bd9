// The caller's SQL in a process of its own, over the published snapshot: a statement that runs for
// its whole time limit on every core, or builds a huge result, then competes with ingest only as a
// low-priority process with one DuckDB thread, and never on the server's event loop, memory or
// DuckDB instance. The price: it reads the snapshot, up to one snapshot interval behind the tables.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { setPriority } from 'node:os';
import { DeadlineError, InvalidInputError, RetryableError } from '../errors.js';
import type { CallerSql, CallerSqlResult } from './caller-sql.js';

export interface SqlProcessInit {
  snapshot: string;
  archiveDir: string | null;
  threads: number;
  memoryLimit: string;
  concurrency: number;
  timeoutMs: number;
  maxResultBytes: number;
}

export interface SqlProcessOptions extends SqlProcessInit {
  /** Nice value of the process (0–19). */
  nice: number;
  onExit?(code: number | null, signal: NodeJS.Signals | null): void;
}

export interface SqlRequest {
  id: number;
  params: CallerSql;
  explain: boolean;
}

export type SqlReply =
  | ({ id: number; ok: true; snapshotAt: string } & CallerSqlResult)
  | { id: number; ok: false; kind: 'input' | 'deadline' | 'internal'; message: string };

/** Past the query's own limit, how long the process may take to answer before it is killed. */
const GRACE_MS = 2_000;

const CHILD = new URL('./sql-process-child.js', import.meta.url);

interface Pending {
  request: SqlRequest;
  /** A process already ended under it once (it is resent once: the process may have died for another). */
  resent: boolean;
  resolve(r: CallerSqlResult & { snapshotAt: Date }): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class SqlProcess {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: SqlProcessOptions) {}

  /** Whether a snapshot has been published for it to read. */
  available(): boolean {
    return !this.closed && existsSync(this.o.snapshot);
  }

  /** The snapshot's time now (what the next query would read). */
  snapshotTime(): Date | null {
    return existsSync(this.o.snapshot) ? statSync(this.o.snapshot).mtime : null;
  }

  run(params: CallerSql, explain: boolean): Promise<CallerSqlResult & { snapshotAt: Date }> {
    if (this.closed) return Promise.reject(new RetryableError('orb-learn is shutting down'));
    const id = this.nextId++;
    const request: SqlRequest = { id, params, explain };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // It did not answer within its limit: a statement that ignores interrupts. The process goes;
        // what else waited in it is resent to the next one.
        this.pending.delete(id);
        reject(new DeadlineError(`sql: the query ran past the time limit (${this.o.timeoutMs} ms) and its process was stopped`));
        this.child?.kill('SIGKILL');
      }, this.o.timeoutMs + GRACE_MS);
      this.pending.set(id, { request, resent: false, resolve, reject, timer });
      this.spawned().send(request);
    });
  }

  close(): void {
    this.closed = true;
    this.child?.kill('SIGTERM');
    this.child = null;
  }

  private spawned(): ChildProcess {
    if (this.child) return this.child;
    const { nice, onExit, ...init } = this.o;
    const child = fork(CHILD, [JSON.stringify(init)], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Its own libuv threads: a connection each, and two to spare.
      env: { ...process.env, UV_THREADPOOL_SIZE: String(init.concurrency + 2) },
    });
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, nice);
      } catch {
        // Not permitted here (a raised priority elsewhere): it runs at the server's.
      }
    }
    child.on('message', (m: SqlReply) => this.answer(m));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      onExit?.(code, signal);
      const why = signal ?? `code ${code}`;
      for (const [id, p] of this.pending) {
        if (!p.resent && !this.closed) {
          p.resent = true;
          this.spawned().send(p.request);
          continue;
        }
        clearTimeout(p.timer);
        p.reject(new RetryableError(`sql: the SQL process ended (${why}) twice while the query waited; try again`));
        this.pending.delete(id);
      }
    });
    child.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private answer(m: SqlReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) {
      const { id: _, ok: __, snapshotAt, ...r } = m;
      p.resolve({ ...r, snapshotAt: new Date(snapshotAt) });
    } else if (m.kind === 'input') p.reject(new InvalidInputError(m.message));
    else if (m.kind === 'deadline') p.reject(new DeadlineError(m.message));
    else p.reject(new Error(m.message));
  }
}
