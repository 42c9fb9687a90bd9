// npm run bench:storage [-- --rows 900000 --days 90 --dim 384 --dir DIR --keep --reuse]
// How big is the hot DuckDB file for 90 days at 10K executions/day, vectors included? Fills a
// fresh file through the store's own writer with `orb-learn synth`'s generator (summary tables
// kept as in production) and one int8 vector per execution, CHECKPOINTs, and reports the file
// size and bytes per execution, split into executions (+ feedback, summaries, their indexes) and
// embeddings by copying each part into a file of its own with the real schema (primary keys
// included); then what the primary-key indexes and the content hash cost (copies without them),
// and the same data archived to Parquet (ZSTD). --reuse measures a file a previous --keep left.
//
// Vectors: a real model on 900K rows takes hours on 2 vCPU, so a stand-in embedder gives each
// distinct content a deterministic vector of the model's shape: Gaussian components, L2-normalized,
// quantized exactly as the indexer does (int8 + per-vector scale). Real sentence embeddings are
// near-Gaussian per component, so the int8 codes carry about the same entropy; identical contents
// share a vector as with the real model (see src/synth/write.ts).
import { copyFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { archiveOlderThan } from '../src/store/archive.js';
import { Store } from '../src/store/db.js';
import { synthesize } from '../src/synth/write.js';
import { StandInEmbedder } from './stand-in.js';
import { tempDir } from '../test/helpers/server.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '900000' },
    days: { type: 'string', default: '90' },
    dim: { type: 'string', default: '384' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const DAYS = Number(values.days);
const DIM = Number(values.dim);
const dir = values.dir ?? tempDir('orb-bench-storage-');
const MB = 1e6;
const MiB = 2 ** 20;

function size(path: string): number {
  let n = 0;
  for (const p of [path, `${path}.wal`]) if (existsSync(p)) n += statSync(p).size;
  return n;
}

const db = join(dir, 'learning.duckdb');
console.log(`storage bench: ${ROWS} executions over ${DAYS} days, ${DIM}-d int8 vectors, in ${dir}`);

// 1. Fill through the writer (summaries maintained), vectors through the synth VectorWriter.
let fillNote = `reused ${db}`;
if (!(values.reuse && existsSync(db))) {
  rmSync(db, { force: true });
  const t0 = performance.now();
  const store = await Store.open({ path: db });
  let lastTenth = -1;
  const res = await synthesize(store, {
    rows: ROWS,
    days: DAYS,
    seed: 1,
    vectors: { embedder: new StandInEmbedder(DIM), source: 'bench stand-in (Gaussian, L2-normalized)', batchSize: 4096 },
    onProgress: (p) => {
      const tenth = Math.floor((10 * p.rows) / ROWS);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      console.log(`  ${p.rows} rows, ${p.contents} distinct contents, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    },
  });
  await store.close(); // CHECKPOINT
  fillNote = `filled in ${((performance.now() - t0) / 1000).toFixed(0)} s; ${res.contents} distinct contents embedded`;
}
const total = size(db);

// 2. Parts and variants, each copied into a file of its own from the filled one.
const instance = await DuckDBInstance.create(db);
const conn = await instance.connect();
const count = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRows()[0]![0]);
const rows = await count('SELECT count(*) FROM executions');
const vectors = await count('SELECT count(*) FROM execution_embeddings');
const feedbackRows = await count('SELECT count(*) FROM feedback');
const tables = (await conn.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'`))
  .getRows()
  .map((r) => String(r[0]));

/** Columns that can be inserted into (not generated ones), quoted. */
async function insertable(c: DuckDBConnection, table: string): Promise<string> {
  const sql = String((await c.runAndReadAll(`SELECT sql FROM duckdb_tables() WHERE database_name = current_database() AND table_name = '${table}'`)).getRows()[0]![0]);
  const generated = new Set([...sql.matchAll(/"?(\w+)"? [A-Z[\]]+ GENERATED ALWAYS/g)].map((m) => m[1]!));
  const cols = (await c.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND table_name = '${table}' ORDER BY column_index`))
    .getRows()
    .map((r) => String(r[0]))
    .filter((name) => !generated.has(name));
  return cols.map((name) => `"${name}"`).join(', ');
}

/** A file holding `fill`'s tables; `schema`: created by the migrations (with primary keys) first. */
async function part(name: string, schema: boolean, fill: (into: string) => Promise<void>): Promise<number> {
  const path = join(dir, `part-${name}.duckdb`);
  rmSync(path, { force: true });
  if (schema) await (await Store.open({ path })).close();
  await conn.run(`ATTACH '${path}' AS part`);
  await fill('part.main');
  await conn.run('DETACH part'); // checkpoints
  return size(path);
}

const copyTables = (keep: (t: string) => boolean) => async (into: string) => {
  for (const t of tables.filter(keep)) {
    const list = await insertable(conn, t);
    await conn.run(`INSERT INTO ${into}."${t}" (${list}) SELECT ${list} FROM main."${t}"`);
  }
};
const isVector = (t: string) => t === 'execution_embeddings' || t === 'embedding_models';
const dbName = String((await conn.runAndReadAll('SELECT current_database()')).getRows()[0]![0]);
const sizes = {
  // What the file would be if written at once: freed and partly filled blocks of the incremental
  // writes left behind (the snapshot feature's COPY FROM DATABASE makes such a file).
  compacted: await part('compacted', false, async () => {
    await conn.run(`COPY FROM DATABASE "${dbName}" TO part`);
  }),
  executions: await part('executions', true, copyTables((t) => !isVector(t) && t !== 'schema_migrations')),
  embeddings: await part('embeddings', true, copyTables(isVector)),
  executionsNoPk: await part('executions-no-pk', false, async (into) => {
    await conn.run(`CREATE TABLE ${into}.executions AS SELECT * FROM main.executions`);
  }),
  executionsOnly: await part('executions-table', true, copyTables((t) => t === 'executions')),
  embeddingsNoPk: await part('embeddings-no-pk', false, async (into) => {
    await conn.run(`CREATE TABLE ${into}.execution_embeddings AS SELECT * FROM main.execution_embeddings`);
  }),
  codesOnly: await part('codes-only', false, async (into) => {
    await conn.run(`CREATE TABLE ${into}.v AS SELECT task_id, scale, embedding FROM main.execution_embeddings`);
  }),
};
conn.closeSync();
instance.closeSync();

// 3. Cold: everything archived to Parquet (ZSTD), on a copy.
const coldDb = join(dir, 'cold.duckdb');
const archiveDir = join(dir, 'archive');
rmSync(archiveDir, { recursive: true, force: true });
copyFileSync(db, coldDb);
const cold = await Store.open({ path: coldDb });
const arch = await archiveOlderThan(cold, { archiveDir, cutoff: new Date(Date.now() + 86_400_000), withVectors: true });
await cold.close();
const coldBytes = (prefix: string) => arch.files.filter((f) => f.startsWith(prefix)).reduce((n, f) => n + statSync(join(archiveDir, f)).size, 0);

const line = (label: string, bytes: number) =>
  `  ${label.padEnd(58)} ${(bytes / MB).toFixed(1).padStart(7)} MB ${(bytes / MiB).toFixed(1).padStart(7)} MiB ${(bytes / rows).toFixed(0).padStart(6)} B/execution`;
const project = (bytes: number) => (bytes / rows) * 900_000;
console.log(`
${fillNote}: ${rows} executions, ${vectors} vectors (${DIM}-d int8), ${feedbackRows} feedback rows

hot DuckDB file after CHECKPOINT
${line('whole file', total)}
${line('whole file compacted (COPY FROM DATABASE to a new file)', sizes.compacted)}
${line('executions + summaries + feedback, with PK indexes', sizes.executions)}
${line('  executions table alone, with its PK index', sizes.executionsOnly)}
${line('  executions table alone, no PK index', sizes.executionsNoPk)}
${line('embeddings, with the (task_id, model_id) PK index', sizes.embeddings)}
${line('  embeddings, no PK index', sizes.embeddingsNoPk)}
${line('  embeddings as task_id + scale + int8 codes only', sizes.codesOnly)}
  projected whole file, 90 days × 10K/day: ${(project(total) / MB).toFixed(0)} MB, compacted ${(project(sizes.compacted) / MB).toFixed(0)} MB (target < 500 MB)

archived to Parquet (ZSTD), ${arch.files.length} files, ${arch.seconds.toFixed(1)} s
${line('executions', coldBytes('executions/'))}
${line('embeddings (int8 codes + scale, as stored)', coldBytes('embeddings/'))}
${line('feedback', coldBytes('feedback/'))}
`);
if (!values.keep && !values.dir) rmSync(dir, { recursive: true, force: true });
