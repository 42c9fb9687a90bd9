// The SQL process (sql-process.ts): the caller's SQL over the snapshot, on a DuckDB instance of its own
// with few threads, at a lower CPU priority than the server. Requests come over IPC; a newer
// snapshot is opened for the next request, and the old one closed once its queries are done.
import { statSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { DeadlineError, InvalidInputError } from '../errors.js';
import { confine } from '../store/db.js';
import { runCallerSql } from './caller-sql.js';
import { ReadPool } from './pool.js';
import type { SqlProcessInit, SqlReply, SqlRequest } from './sql-process.js';

const init = JSON.parse(process.argv[2]!) as SqlProcessInit;

interface Opened {
  key: string;
  at: Date;
  instance: DuckDBInstance;
  pool: ReadPool;
  running: number;
}

let current: Opened | null = null;
let opening: Promise<Opened> | null = null;

function retire(o: Opened): void {
  if (o === current || o.running > 0) return;
  o.pool.close();
  o.instance.closeSync();
}

async function openSnapshot(key: string, at: Date): Promise<Opened> {
  const instance = await DuckDBInstance.create(init.snapshot, { access_mode: 'READ_ONLY', threads: String(init.threads), memory_limit: init.memoryLimit });
  const first = await instance.connect();
  // The analyst reads the tables and the archive, not the host's files (nor the snapshot's raw bytes).
  await confine(first, { directories: init.archiveDir ? [init.archiveDir] : [], files: [init.snapshot] });
  first.closeSync();
  const pool = await ReadPool.open(() => instance.connect(), init.concurrency, init.timeoutMs);
  return { key, at, instance, pool, running: 0 };
}

/** The newest published snapshot (the publisher renames a finished file into place). */
async function snapshot(): Promise<Opened> {
  const st = statSync(init.snapshot);
  const key = `${st.dev}:${st.ino}:${st.mtimeMs}`;
  if (current?.key === key) return current;
  opening ??= openSnapshot(key, st.mtime).finally(() => (opening = null));
  const next = await opening;
  if (current !== next) {
    const old = current;
    current = next;
    if (old) retire(old);
  }
  return next;
}

async function handle(m: SqlRequest): Promise<SqlReply> {
  let o: Opened | null = null;
  try {
    o = await snapshot();
    o.running++;
    const r = await o.pool.use((conn, deadline) => runCallerSql(conn, deadline, m.params, { archiveDir: init.archiveDir, maxResultBytes: init.maxResultBytes, explain: m.explain }));
    return { id: m.id, ok: true, ...r, snapshotAt: o.at.toISOString() };
  } catch (err) {
    const kind = err instanceof InvalidInputError ? 'input' : err instanceof DeadlineError ? 'deadline' : 'internal';
    return { id: m.id, ok: false, kind, message: (err as Error).message };
  } finally {
    if (o) {
      o.running--;
      retire(o);
    }
  }
}

process.on('message', (m: SqlRequest) => {
  void handle(m).then((reply) => process.send!(reply));
});
// The server went away: so does this process.
process.on('disconnect', () => process.exit(0));
