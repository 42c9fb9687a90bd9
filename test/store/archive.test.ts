import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import { uuidV5 } from '../../src/convert/task-id.js';
import { embeddingWrite, registerModel } from '../../src/embed/indexer.js';
import { quantize } from '../../src/embed/quantize.js';
import { ARCHIVE_STEPS, ArchiveConflict, ArchiveCrash, archiveOlderThan, type ArchiveStep } from '../../src/store/archive.js';
import { archiveReadSql, embeddingsSource, executionsSource, feedbackSource, hasArchive, type ArchiveKind } from '../../src/store/archive-layout.js';
import { startArchiveSchedule } from '../../src/store/archive-schedule.js';
import { Store } from '../../src/store/db.js';
import { parseDuration } from '../../src/duration.js';
import { TableWriter } from '../../src/store/table-writer.js';
import { runCli } from '../helpers/process.js';
import { row } from '../helpers/rows.js';
import { tempDir } from '../helpers/server.js';

const CHILD = fileURLToPath(new URL('../helpers/archive-child.js', import.meta.url));
const DAY = 86_400_000;
/** Rows from 2025-10-01 to 2026-01-31; the cutoff keeps January hot. */
const START = Date.UTC(2025, 9, 1);
const CUTOFF = new Date(Date.UTC(2026, 0, 1));
const MODEL = 'test-model';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Fixture {
  dir: string;
  db: string;
  archive: string;
}

function fixture(): Fixture {
  const dir = tempDir('orb-archive-');
  dirs.push(dir);
  return { dir, db: join(dir, 'learning.duckdb'), archive: join(dir, 'archive') };
}

async function rowsOf(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

async function scalar(conn: DuckDBConnection, sql: string): Promise<number> {
  return Number((await conn.runAndReadAll(sql)).getRows()[0]![0]);
}

/** n executions spread over 4 months (every column filled on some rows), feedback on a third, a vector each. */
async function seed(store: Store, n = 240): Promise<void> {
  const rows = Array.from({ length: n }, (_, i) =>
    row(i, {
      timestamp: new Date(START + Math.floor((i * 123 * DAY) / n) + (i % 7) * 1_234_567 + 0.123),
      task_type: ['refactor', 'test', 'docs'][i % 3]!,
      repo: `repo-${i % 4}`,
      model_tier: ['small', 'medium', 'large'][i % 3]!,
      quality_score: i % 5 === 0 ? null : (i * 7) % 101,
      user_rating: i % 2 === 0 ? null : (i % 5) + 1,
      user_accepted: i % 3 === 0 ? null : i % 2 === 0,
      error_type: i % 4 === 0 ? 'timeout' : null,
      error_message: i % 4 === 0 ? `it's "late" — ${i}` : null,
      swarm_topology: i % 2 ? 'mesh' : null,
      predicted_success_probability: i % 3 ? 0.1 * (i % 10) : null,
      estimated_tokens: 2 ** 40 + i,
      peak_memory_mb: i % 2 ? 123.456 + i : null,
      cpu_time_seconds: i % 2 ? 1 / 3 + i : null,
      solution_summary: i % 3 ? `summary ${i % 11}` : null,
      duration_seconds: 0.1 + i / 7,
      trace_id: i % 2 ? 'ab'.repeat(16) : null,
      span_id: i % 2 ? 'cd'.repeat(8) : null,
      metadata: { n: i, nested: { list: [1, 'two', null, { three: true }] }, text: `ünïcode ${i} 'q'` },
      received_at: new Date(START + i * 1000),
    }),
  );
  for (let i = 0; i < rows.length; i += 100) await store.writer.commit({ executions: rows.slice(i, i + 100), rejected: [] });
  const conn = await store.connect();
  try {
    await conn.run(
      `INSERT INTO feedback (feedback_id, task_id, timestamp, feedback_type, rating, comment, user_id)
       SELECT gen_random_uuid(), task_id, timestamp + INTERVAL 1 HOUR, 'rating', (hash(task_id) % 5 + 1)::INTEGER, 'ok ' || repo, NULL
       FROM executions WHERE hash(task_id) % 3 = 0`,
    );
    // Feedback whose execution never arrived: never archived.
    await conn.run(`INSERT INTO feedback (feedback_id, task_id, timestamp, rating) VALUES (gen_random_uuid(), '${uuidV5('never')}', TIMESTAMP '2025-01-01', 3)`);
    await registerModel(conn, MODEL, 16, 'test');
    const vecs = rows.map((r, i) => ({
      task_id: r.task_id,
      content_hash: `h${i % 50}`,
      vector: quantize(Float32Array.from({ length: 16 }, (_, k) => Math.sin(i * 16 + k))),
    }));
    await new TableWriter(conn).write([embeddingWrite(MODEL, vecs, new Date(START))]);
  } finally {
    conn.closeSync();
  }
}

const KEYS: Record<ArchiveKind, { table: string; key: string }> = {
  executions: { table: 'executions', key: `task_id::VARCHAR` },
  feedback: { table: 'feedback', key: `feedback_id::VARCHAR` },
  embeddings: { table: 'execution_embeddings', key: `task_id::VARCHAR || '/' || model_id` },
};

async function columns(conn: DuckDBConnection, table: string): Promise<string[]> {
  const r = await rowsOf(conn, `SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = '${table}' ORDER BY column_index`);
  return r.map((x) => String(x.column_name));
}

/** key → hash of every column, for one source (a table or a read_parquet). */
async function fingerprints(conn: DuckDBConnection, kind: ArchiveKind, source: string): Promise<[string, string][]> {
  const cols = await columns(conn, KEYS[kind].table);
  const r = await conn.runAndReadAll(`SELECT ${KEYS[kind].key}, hash(${cols.map((c) => `"${c}"::VARCHAR`).join(', ')})::VARCHAR FROM ${source}`);
  return r.getRows().map((x) => [String(x[0]), String(x[1])]);
}

type Snapshot = Record<ArchiveKind, Map<string, string>>;

async function snapshot(store: Store): Promise<Snapshot> {
  const conn = await store.connect();
  try {
    const out = {} as Snapshot;
    for (const kind of Object.keys(KEYS) as ArchiveKind[]) out[kind] = new Map(await fingerprints(conn, kind, KEYS[kind].table));
    return out;
  } finally {
    conn.closeSync();
  }
}

/**
 * Every original row is in hot ∪ archive exactly once, with identical values. `raw`: the hot table
 * and every Parquet file as they are; otherwise through executionsSource & co (which hide an
 * archived copy whose key is still hot).
 */
async function assertExactlyOnce(store: Store, archive: string, original: Snapshot, mode: 'raw' | 'source', kinds: ArchiveKind[] = ['executions', 'feedback', 'embeddings']): Promise<void> {
  const conn = await store.connect();
  try {
    for (const kind of kinds) {
      let got: [string, string][];
      if (mode === 'raw') {
        got = await fingerprints(conn, kind, KEYS[kind].table);
        if (hasArchive(archive, kind)) got.push(...(await fingerprints(conn, kind, archiveReadSql(archive, kind))));
      } else {
        const src = { executions: executionsSource, feedback: feedbackSource, embeddings: embeddingsSource }[kind](archive);
        got = await fingerprints(conn, kind, src);
      }
      const seen = new Map<string, number>();
      for (const [k, h] of got) {
        seen.set(k, (seen.get(k) ?? 0) + 1);
        assert.equal(h, original[kind].get(k), `${kind} ${k}: values differ from the original (or unknown row)`);
      }
      const twice = [...seen].filter(([, c]) => c > 1);
      assert.deepEqual(twice, [], `${kind}: rows present more than once (${mode})`);
      const missing = [...original[kind].keys()].filter((k) => !seen.has(k));
      assert.deepEqual(missing, [], `${kind}: rows missing from both hot and archive (${mode})`);
    }
  } finally {
    conn.closeSync();
  }
}

function parquetFiles(archive: string): string[] {
  if (!existsSync(archive)) return [];
  return (readdirSync(archive, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet')).sort();
}

async function logRows(store: Store): Promise<Record<string, unknown>[]> {
  const conn = await store.connect();
  try {
    return await rowsOf(conn, `SELECT run_id::VARCHAR AS run_id, status, executions_archived, feedback_archived, embeddings_archived, embeddings_dropped, duplicates_dropped, files, bytes, error FROM maintenance_log ORDER BY started_at`);
  } finally {
    conn.closeSync();
  }
}

async function withStore<T>(db: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await Store.open({ path: db });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('archive: executions older than a cutoff to monthly Parquet', () => {
  it('parses durations', () => {
    assert.equal(parseDuration('90d'), 90 * DAY);
    assert.equal(parseDuration('12h'), 12 * 3_600_000);
    assert.equal(parseDuration('2w'), 14 * DAY);
    assert.equal(parseDuration('30m'), 1_800_000);
    assert.equal(parseDuration('1.5d'), 1.5 * DAY);
    for (const bad of ['90', 'd', '-1d', '0d', '3y', '']) assert.throws(() => parseDuration(bad), /invalid duration/);
  });

  it('moves old executions with their feedback and vectors; values read back identical; hot rows gone; summaries untouched', async () => {
    const f = fixture();
    await withStore(f.db, async (store) => {
      await seed(store);
      const conn = await store.connect();
      const before = await rowsOf(conn, `SELECT * FROM executions WHERE timestamp < TIMESTAMP '2026-01-01' ORDER BY task_id`);
      const fbBefore = await rowsOf(conn, `SELECT * FROM feedback WHERE task_id IN (SELECT task_id FROM executions WHERE timestamp < TIMESTAMP '2026-01-01') ORDER BY feedback_id`);
      const vecBefore = await rowsOf(conn, `SELECT * FROM execution_embeddings WHERE task_id IN (SELECT task_id FROM executions WHERE timestamp < TIMESTAMP '2026-01-01') ORDER BY task_id`);
      const hotAfterCutoff = await scalar(conn, `SELECT count(*) FROM executions WHERE timestamp >= TIMESTAMP '2026-01-01'`);
      // Merged first: the writer's merge timer must not land between the two reads.
      await store.writer.flushSummaries();
      const summaries = async () =>
        Promise.all(['tier_performance_mv', 'tier_duration_sketch', 'pool_performance_mv', 'solution_patterns_mv'].map((t) => rowsOf(conn, `SELECT * FROM ${t} ORDER BY ALL`)));
      const summariesBefore = await summaries();
      const original = await snapshot(store);
      assert.ok(before.length > 150 && fbBefore.length > 20 && hotAfterCutoff > 20);

      const report = await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, withVectors: true });
      assert.equal(report.executions, before.length);
      assert.equal(report.feedback, fbBefore.length);
      assert.equal(report.embeddings, vecBefore.length);
      assert.equal(report.embeddingsDropped, 0);
      assert.equal(report.duplicatesDropped, 0);
      assert.deepEqual(report.months, ['2025-10', '2025-11', '2025-12']);
      assert.ok(report.runId);
      assert.equal(report.bytes, report.files.reduce((n, p) => n + statSync(join(f.archive, p)).size, 0));
      assert.deepEqual(report.files, parquetFiles(f.archive));
      for (const p of report.files) {
        assert.match(p, /^(executions|feedback|embeddings)\/year=2025\/month=1[012]\/[0-9a-f-]{36}_\d+\.parquet$/);
        assert.ok(basename(p).startsWith(`${report.runId}_`), 'file names carry the run id');
      }
      assert.ok(!existsSync(join(f.archive, '.staging', report.runId!)), 'staging cleaned');

      // Every column, identical.
      const arch = await rowsOf(conn, `SELECT * EXCLUDE (year, month) FROM ${archiveReadSql(f.archive)} ORDER BY task_id`);
      assert.deepEqual(arch, before);
      assert.deepEqual(JSON.parse(String(arch[1]!.metadata)), { n: JSON.parse(String(before[1]!.metadata)).n, nested: { list: [1, 'two', null, { three: true }] }, text: `ünïcode ${JSON.parse(String(before[1]!.metadata)).n} 'q'` });
      assert.deepEqual(await rowsOf(conn, `SELECT * EXCLUDE (year, month) FROM ${archiveReadSql(f.archive, 'feedback')} ORDER BY feedback_id`), fbBefore);
      assert.deepEqual(await rowsOf(conn, `SELECT * EXCLUDE (year, month) FROM ${archiveReadSql(f.archive, 'embeddings')} ORDER BY task_id`), vecBefore);
      const types = await rowsOf(conn, `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${archiveReadSql(f.archive)}) WHERE column_name IN ('task_id', 'timestamp', 'metadata', 'estimated_tokens', 'year', 'month')`);
      assert.deepEqual(Object.fromEntries(types.map((t) => [t.column_name, t.column_type])), {
        task_id: 'UUID', timestamp: 'TIMESTAMP', metadata: 'JSON', estimated_tokens: 'BIGINT', year: 'INTEGER', month: 'INTEGER',
      });
      const vtypes = await rowsOf(conn, `SELECT column_type FROM (DESCRIBE SELECT * FROM ${archiveReadSql(f.archive, 'embeddings')}) WHERE column_name IN ('embedding', 'scale') ORDER BY column_name`);
      assert.deepEqual(vtypes.map((t) => t.column_type), ['TINYINT[]', 'FLOAT'], 'vectors stay int8 codes + scale');
      // Each row in the month of its execution.
      assert.equal(await scalar(conn, `SELECT count(*) FROM ${archiveReadSql(f.archive)} WHERE year <> year(timestamp) OR month <> month(timestamp)`), 0);
      assert.equal(
        await scalar(conn, `SELECT count(*) FROM ${archiveReadSql(f.archive, 'feedback')} fb JOIN ${archiveReadSql(f.archive)} e USING (task_id) WHERE fb.month <> e.month OR fb.year <> e.year`),
        0,
      );
      const codecs = await rowsOf(conn, `SELECT DISTINCT compression FROM parquet_metadata('${f.archive}/**/*.parquet')`);
      assert.deepEqual(codecs.map((c) => c.compression), ['ZSTD']);

      // Hot rows gone, younger ones untouched, summaries untouched.
      assert.equal(await scalar(conn, `SELECT count(*) FROM executions WHERE timestamp < TIMESTAMP '2026-01-01'`), 0);
      assert.equal(await scalar(conn, `SELECT count(*) FROM executions`), hotAfterCutoff);
      assert.equal(await scalar(conn, `SELECT count(*) FROM feedback f SEMI JOIN ${archiveReadSql(f.archive, 'feedback')} a ON a.feedback_id = f.feedback_id`), 0);
      assert.equal(await scalar(conn, `SELECT count(*) FROM feedback WHERE task_id = '${uuidV5('never')}'`), 1, 'feedback without an execution stays');
      assert.equal(await scalar(conn, `SELECT count(*) FROM execution_embeddings`), hotAfterCutoff);
      assert.deepEqual(await summaries(), summariesBefore);
      conn.closeSync();

      await assertExactlyOnce(store, f.archive, original, 'raw');
      await assertExactlyOnce(store, f.archive, original, 'source');
      const log = await logRows(store);
      assert.equal(log.length, 1);
      assert.equal(log[0]!.status, 'done');
      assert.equal(Number(log[0]!.executions_archived), before.length);
      assert.deepEqual(log[0]!.files, report.files);

      // A second run: nothing to do, nothing written.
      const again = await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, withVectors: true });
      assert.deepEqual([again.executions, again.feedback, again.embeddings, again.files.length, again.duplicatesDropped], [0, 0, 0, 0, 0]);
      assert.deepEqual(parquetFiles(f.archive), report.files);
      await assertExactlyOnce(store, f.archive, original, 'raw');
    });
  });

  it('without withVectors deletes the vectors of archived executions (reported), and a dry run changes nothing', async () => {
    const f = fixture();
    await withStore(f.db, async (store) => {
      await seed(store);
      const original = await snapshot(store);
      const dry = await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, dryRun: true });
      assert.equal(dry.runId, null);
      assert.ok(dry.executions > 0 && dry.embeddingsDropped === dry.executions && dry.embeddings === 0);
      assert.deepEqual(parquetFiles(f.archive), []);
      assert.deepEqual(await snapshot(store), original, 'dry run changed nothing');
      assert.equal((await logRows(store)).length, 0);

      const r = await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF });
      assert.deepEqual([r.executions, r.feedback, r.embeddings, r.embeddingsDropped], [dry.executions, dry.feedback, 0, dry.executions]);
      assert.ok(!hasArchive(f.archive, 'embeddings'));
      await assertExactlyOnce(store, f.archive, original, 'raw', ['executions', 'feedback']);
      const conn = await store.connect();
      assert.equal(await scalar(conn, `SELECT count(*) FROM execution_embeddings v ANTI JOIN executions e USING (task_id)`), 0, 'no orphan vectors');
      conn.closeSync();
    });
  });

  it('an execution redelivered after archiving is dropped from the hot table, never archived twice', async () => {
    const f = fixture();
    await withStore(f.db, async (store) => {
      await seed(store, 60);
      const original = await snapshot(store);
      const first = await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, withVectors: true });
      const conn = await store.connect();
      const archived = await rowsOf(conn, `SELECT task_id FROM ${archiveReadSql(f.archive)} ORDER BY task_id LIMIT 2`);
      const src = await rowsOf(conn, `SELECT * EXCLUDE (year, month) FROM ${archiveReadSql(f.archive)} WHERE task_id = '${archived[0]!.task_id}'`);
      const redelivered = row(0, { task_id: String(archived[0]!.task_id), timestamp: src[0]!.timestamp as Date, repo: 'redelivered' });
      assert.equal((await store.writer.commit({ executions: [redelivered], rejected: [] })).inserted, 1, 'the hot table no longer knows it');
      // Late feedback for an archived execution, and a redelivered archived feedback.
      const lateFb = uuidV5('late-feedback');
      await conn.run(`INSERT INTO feedback (feedback_id, task_id, timestamp, rating) VALUES ('${lateFb}', '${archived[1]!.task_id}', TIMESTAMP '2026-02-01', 5)`);
      const oldFb = await rowsOf(conn, `SELECT * EXCLUDE (year, month) FROM ${archiveReadSql(f.archive, 'feedback')} LIMIT 1`);
      await conn.run(`INSERT INTO feedback (feedback_id, task_id, timestamp, rating) VALUES ('${oldFb[0]!.feedback_id}', '${oldFb[0]!.task_id}', TIMESTAMP '2026-02-01', 1)`);
      // executionsSource shows the hot copy once, not twice.
      assert.equal(await scalar(conn, `SELECT count(*) FROM ${executionsSource(f.archive)} WHERE task_id = '${archived[0]!.task_id}'`), 1);

      const second = await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, withVectors: true });
      assert.equal(second.executions, 0);
      assert.equal(second.feedback, 1, 'the late feedback follows its execution');
      assert.equal(second.duplicatesDropped, 2, 'the redelivered execution and feedback');
      assert.equal(await scalar(conn, `SELECT count(*) FROM ${archiveReadSql(f.archive)} WHERE task_id = '${archived[0]!.task_id}'`), 1);
      assert.equal(await scalar(conn, `SELECT count(*) FROM executions WHERE task_id = '${archived[0]!.task_id}'`), 0);
      assert.equal(await scalar(conn, `SELECT count(*) FROM ${archiveReadSql(f.archive)} WHERE task_id = '${archived[0]!.task_id}' AND repo = 'redelivered'`), 0, 'first write wins');
      const late = await rowsOf(conn, `SELECT fb.year, fb.month, e.year AS ey, e.month AS em FROM ${archiveReadSql(f.archive, 'feedback')} fb JOIN ${archiveReadSql(f.archive)} e USING (task_id) WHERE fb.feedback_id = '${lateFb}'`);
      assert.equal(late.length, 1);
      assert.deepEqual([late[0]!.year, late[0]!.month], [late[0]!.ey, late[0]!.em], "late feedback lands in its execution's month");
      assert.equal(await scalar(conn, `SELECT count(*) FROM ${archiveReadSql(f.archive, 'feedback')} WHERE feedback_id = '${oldFb[0]!.feedback_id}'`), 1);
      assert.ok(first.files.every((p) => parquetFiles(f.archive).includes(p)));
      conn.closeSync();
      await assertExactlyOnce(store, f.archive, original, 'raw', ['executions', 'embeddings']);
    });
  });

  it('a row updated while being archived aborts the run, which undoes itself; the next run archives the new value', async () => {
    const f = fixture();
    await withStore(f.db, async (store) => {
      await seed(store, 60);
      const other = await store.connect();
      const victim = String((await rowsOf(other, `SELECT task_id FROM executions WHERE timestamp < TIMESTAMP '2025-11-01' LIMIT 1`))[0]!.task_id);
      await assert.rejects(
        archiveOlderThan(store, {
          archiveDir: f.archive,
          cutoff: CUTOFF,
          onStep: async (s) => {
            if (s === 'moved') await other.run(`UPDATE executions SET user_rating = 5, user_accepted = true WHERE task_id = '${victim}'`);
          },
        }),
        ArchiveConflict,
      );
      assert.deepEqual(parquetFiles(f.archive), [], 'files of the failed run removed');
      const log = await logRows(store);
      assert.equal(log[0]!.status, 'failed');
      assert.match(String(log[0]!.error), /changed while being archived/);
      const original = await snapshot(store);
      const r = await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, withVectors: true });
      assert.ok(r.executions > 0);
      assert.equal(await scalar(other, `SELECT user_rating FROM ${archiveReadSql(f.archive)} WHERE task_id = '${victim}'`), 5);
      other.closeSync();
      await assertExactlyOnce(store, f.archive, original, 'raw');
    });
  });

  it('a staged file that does not verify fails the run; nothing is deleted', async () => {
    const f = fixture();
    await withStore(f.db, async (store) => {
      await seed(store, 60);
      const original = await snapshot(store);
      await assert.rejects(
        archiveOlderThan(store, {
          archiveDir: f.archive,
          cutoff: CUTOFF,
          onStep: (s, runId) => {
            if (s !== 'staged') return;
            const dir = join(f.archive, '.staging', runId!, 'executions');
            const victim = (readdirSync(dir, { recursive: true }) as string[]).find((p) => p.endsWith('.parquet'))!;
            unlinkSync(join(dir, victim));
          },
        }),
        /verification of executions failed: \d+ rows staged, \d+ selected/,
      );
      assert.deepEqual(parquetFiles(f.archive), []);
      assert.deepEqual(await snapshot(store), original);
      assert.equal((await logRows(store))[0]!.status, 'failed');
    });
  });

  it('runs while the writer keeps committing (old and new rows): nothing lost, nothing twice, no error', async () => {
    const f = fixture();
    await withStore(f.db, async (store) => {
      await seed(store, 600);
      let n = 10_000;
      let stop = false;
      const committed: string[] = [];
      const ingest = (async () => {
        while (!stop) {
          // Half of them late arrivals older than the cutoff, racing the run's snapshot.
          const batch = Array.from({ length: 20 }, () => {
            const i = n++;
            return row(i, { timestamp: new Date(i % 2 ? START + (i % 90) * DAY : CUTOFF.getTime() + (i % 20) * DAY) });
          });
          await store.writer.commit({ executions: batch, rejected: [] });
          committed.push(...batch.map((r) => r.task_id));
          await new Promise((r) => setImmediate(r));
        }
      })();
      const reports = [];
      for (let k = 0; k < 3; k++) reports.push(await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, withVectors: true }));
      stop = true;
      await ingest;
      assert.ok(committed.length > 0 && reports[0]!.executions >= 600 * 0.7);
      const original = await snapshot(store); // hot now
      const conn = await store.connect();
      const hot = await scalar(conn, 'SELECT count(*) FROM executions');
      const archived = await scalar(conn, `SELECT count(*) FROM ${archiveReadSql(f.archive)}`);
      const distinct = await scalar(conn, `SELECT count(DISTINCT task_id) FROM (SELECT task_id FROM executions UNION ALL SELECT task_id FROM ${archiveReadSql(f.archive)})`);
      conn.closeSync();
      assert.equal(hot + archived, 600 + committed.length, 'every row in exactly one place');
      assert.equal(distinct, 600 + committed.length);
      assert.ok(original.executions.size === hot);
    });
  });

  for (const step of ARCHIVE_STEPS) {
    it(`crash injected after '${step}': a rerun loses nothing and duplicates nothing`, async () => {
      const f = fixture();
      await withStore(f.db, async (store) => {
        await seed(store, 90);
        const original = await snapshot(store);
        await assert.rejects(archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, withVectors: true, crashAfter: step }), ArchiveCrash);
        // In between: nothing is missing, and readers through executionsSource see each row once.
        await assertExactlyOnce(store, f.archive, original, 'source');
        const r = await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, withVectors: true });
        // 'recovered' comes before the journal row: that run left nothing behind.
        const finished = step === 'committed';
        const journaled = step !== 'recovered';
        assert.equal(r.recovered.length, journaled && !finished ? 1 : 0, 'an unfinished run is undone first');
        if (finished) assert.equal(r.executions, 0, 'the crashed run had finished');
        else assert.ok(r.executions > 0);
        await assertExactlyOnce(store, f.archive, original, 'raw');
        const log = await logRows(store);
        assert.deepEqual(log.map((l) => l.status), !journaled ? ['done'] : finished ? ['done', 'done'] : ['rolled_back', 'done']);
        assert.deepEqual(readdirSync(join(f.archive, '.staging')), [], 'no staging left');
        const again = await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, withVectors: true });
        assert.equal(again.executions + again.feedback + again.embeddings + again.duplicatesDropped, 0);
      });
    });
  }
});

interface ChildResult {
  signal: NodeJS.Signals | null;
  code: number | null;
  out: string;
  lastStep: string | null;
  /** From the 'recovered' step to exit. */
  runMs: number | null;
}

/** Runs the archive in a child process; SIGKILLs it at a step, or `afterMs` after its 'recovered' step. */
function runChild(f: Fixture, killAt: ArchiveStep | 'none', afterMs?: number): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, f.db, f.archive, CUTOFF.toISOString(), killAt, '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let began: number | null = null;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (began === null && out.includes('step recovered')) {
        began = performance.now();
        if (afterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), afterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code, signal) => {
      const steps = [...out.matchAll(/^step (\w+)$/gm)].map((m) => m[1]!);
      resolve({ code, signal, out, lastStep: steps.at(-1) ?? null, runMs: began === null ? null : Math.round(performance.now() - began) });
    });
  });
}

describe('archive: kill -9 of a real process', () => {
  for (const step of ARCHIVE_STEPS) {
    it(`SIGKILL at '${step}', then a rerun: each row exactly once in hot ∪ archive`, async () => {
      const f = fixture();
      let original!: Snapshot;
      await withStore(f.db, async (store) => {
        await seed(store, 90);
        original = await snapshot(store);
      });
      const killed = await runChild(f, step);
      assert.equal(killed.signal, 'SIGKILL', killed.out);
      assert.ok(!killed.out.includes('done'), killed.out);
      await withStore(f.db, async (store) => {
        await assertExactlyOnce(store, f.archive, original, 'source');
        const r = await archiveOlderThan(store, { archiveDir: f.archive, cutoff: CUTOFF, withVectors: true });
        assert.equal(r.recovered.length, step === 'committed' || step === 'recovered' ? 0 : 1);
        await assertExactlyOnce(store, f.archive, original, 'raw');
        const log = await logRows(store);
        assert.equal(log.at(-1)!.status, 'done');
        assert.ok(log.every((l) => l.status === 'done' || l.status === 'rolled_back'));
      });
    });
  }

  it('SIGKILL at arbitrary moments, several times in a row, then a clean run: nothing lost, nothing twice', async () => {
    const f = fixture();
    const probe = fixture();
    let original!: Snapshot;
    await withStore(f.db, async (store) => {
      await seed(store, 3000);
      original = await snapshot(store);
    });
    // How long a whole run takes here, on a copy: the kills are spread over that span.
    copyFileSync(f.db, probe.db);
    const t0 = await runChild(probe, 'none', undefined);
    assert.equal(t0.code, 0, t0.out);
    const span = t0.runMs!;
    const outcomes: string[] = [];
    for (const frac of [0.02, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9]) {
      const r = await runChild(f, 'none', Math.round(frac * span));
      if (r.signal !== 'SIGKILL') assert.equal(r.code, 0, r.out);
      outcomes.push(r.signal === 'SIGKILL' ? `killed after '${r.lastStep}'` : 'finished');
      await withStore(f.db, (store) => assertExactlyOnce(store, f.archive, original, 'source'));
    }
    const last = await runChild(f, 'none');
    assert.equal(last.code, 0, last.out);
    await withStore(f.db, async (store) => {
      await assertExactlyOnce(store, f.archive, original, 'raw');
      const log = await logRows(store);
      const what = `run of ${span} ms; ${outcomes.join(', ')}; journal: ${log.map((l) => l.status).join(', ')}`;
      assert.ok(log.every((l) => l.status === 'done' || l.status === 'rolled_back'), what);
      assert.equal(log.filter((l) => l.status === 'done' && Number(l.executions_archived) > 0).length, 1, what);
      process.stdout.write(`# ${what}\n`);
    });
  });
});

describe('archive: schedule and CLI', () => {
  it('startArchiveSchedule runs on its interval, one run at a time, and stops', async () => {
    const f = fixture();
    await withStore(f.db, async (store) => {
      await seed(store, 60);
      const original = await snapshot(store);
      const reports: number[] = [];
      const errors: unknown[] = [];
      const schedule = startArchiveSchedule(store, {
        archiveDir: f.archive,
        olderThan: Date.now() - CUTOFF.getTime(),
        interval: 30,
        runAtStart: true,
        withVectors: true,
        onReport: (r) => reports.push(r.executions),
        onError: (e) => errors.push(e),
      });
      const deadline = Date.now() + 10_000;
      while (reports.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await schedule.stop();
      const n = reports.length;
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(reports.length, n, 'no run after stop');
      assert.deepEqual(errors, []);
      assert.ok(reports.length >= 3);
      assert.ok(reports[0]! > 0 && reports.slice(1).every((x) => x === 0), JSON.stringify(reports));
      assert.equal(schedule.last?.executions, 0);
      assert.equal((await schedule.runNow()).executions, 0);
      await assertExactlyOnce(store, f.archive, original, 'raw');
      assert.throws(() => startArchiveSchedule(store, { archiveDir: f.archive, olderThan: 'soon', interval: '1h' }), /invalid duration/);
    });
  });

  it('orb-learn archive --older-than … --json, --dry-run, and a bad duration', async () => {
    const f = fixture();
    let original!: Snapshot;
    await withStore(f.db, async (store) => {
      await seed(store, 60);
      original = await snapshot(store);
    });
    const days = `${Math.ceil((Date.now() - CUTOFF.getTime()) / DAY)}d`;
    const dry = await runCli(['archive', '--older-than', days, '--db', f.db, '--archive-dir', f.archive, '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const dr = JSON.parse(dry.stdout) as { dryRun: boolean; executions: number };
    assert.ok(dr.dryRun && dr.executions > 0);
    assert.deepEqual(parquetFiles(f.archive), []);

    const res = await runCli(['archive', '--older-than', days, '--db', f.db, '--archive-dir', f.archive, '--with-vectors', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const rep = JSON.parse(res.stdout) as { executions: number; embeddings: number; files: string[]; runId: string };
    assert.equal(rep.executions, dr.executions);
    assert.equal(rep.embeddings, rep.executions);
    assert.deepEqual(rep.files, parquetFiles(f.archive));

    const text = await runCli(['archive', '--older-than', days, '--db', f.db, '--archive-dir', f.archive]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /archived 0 executions/);

    const bad = await runCli(['archive', '--older-than', 'ninety', '--db', f.db]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--older-than: invalid duration "ninety"/);
    await withStore(f.db, (store) => assertExactlyOnce(store, f.archive, original, 'raw'));
  });
});
