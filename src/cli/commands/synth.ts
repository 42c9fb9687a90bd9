// orb-learn synth: write realistic synthetic executions (and their vectors) straight into a
// database file, for benchmarks and demos. The server must not be running on that file.
import { vectorModelId } from '../../embed/content.js';
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { OnnxEmbedder } from '../../embed/embedder.js';
import { resolveModel, modelOptions } from '../../embed/model.js';
import { Store } from '../../store/db.js';
import type { Config } from '../../config/config.js';
import { synthesize, type SynthResult, type SynthVectors } from '../../synth/write.js';
import { addSettings, fail, MODEL_FLAGS, settings } from '../common.js';

/** 5000, 100_000, 100k, 1M, 1e6. */
export function parseCount(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([km])?$/i.exec(s.replace(/[_,]/g, '').trim());
  const n = m ? Number(m[1]) * (m[2] ? (m[2].toLowerCase() === 'k' ? 1e3 : 1e6) : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) fail(`${what} must be a whole number such as 5000, 100k or 1M, got ${JSON.stringify(s)}`);
  return n;
}

function fileSize(path: string): number {
  let n = 0;
  for (const p of [path, `${path}.wal`]) if (existsSync(p)) n += statSync(p).size;
  return n;
}

async function loadEmbedder(config: Config): Promise<{ vectors: SynthVectors; close(): Promise<void> }> {
  const hint = 'pass --no-vectors to generate executions without vectors, or --model-dir DIR to use a sentence-transformers ONNX export';
  try {
    const files = await resolveModel(modelOptions(config));
    const embedder = await OnnxEmbedder.load(files, { threads: 2 });
    return { vectors: { embedder, source: files.manifest.source ?? files.dir, batchSize: 64, content: config.embedContent }, close: () => embedder.close() };
  } catch (err) {
    fail(`no embedding model could be loaded (${(err as Error).message.split('\n')[0]}); ${hint}`);
  }
}

export function registerSynth(program: Command): void {
  addSettings(
    program
      .command('synth')
      .description('generate realistic synthetic executions (with vectors) into a database file, for benchmarks and demos')
      .requiredOption('--rows <N>', 'how many executions (5000, 100k, 1M)')
      .option('--db <PATH>', 'DuckDB file (the server must not hold it)')
      .option('--days <N>', 'spread over the last N days', '90')
      .option('--seed <S>', 'random seed: the same seed gives the same executions', '1')
      .option('--no-vectors', 'do not embed (no model needed)')
      .option('--append', 'add to a database that already holds executions'),
    [...MODEL_FLAGS, ['dbThreads', 'N', "DuckDB worker threads (default: DuckDB's, all cores)"], ['dbCheckpointThreshold', 'SIZE', 'WAL size that triggers a checkpoint (default 256MB)']],
  ).action(async (opts: Record<string, unknown>) => {
    const config = settings(opts);
    const rows = parseCount(String(opts.rows), '--rows');
    const days = Number(opts.days);
    if (!(days > 0)) fail(`--days must be a positive number, got ${JSON.stringify(opts.days)}`);
    const seed = parseCount(String(opts.seed), '--seed');
    const started = performance.now();

    // The model first: a missing one should fail before anything is written.
    const model = opts.vectors === false ? null : await loadEmbedder(config);

    let store: Store;
    try {
      store = await Store.open({ path: config.db, threads: config.dbThreads, checkpointThreshold: config.dbCheckpointThreshold });
    } catch (err) {
      const msg = (err as Error).message;
      fail(/lock/i.test(msg) ? `${config.db} is held by another process (a running server?): stop it first. ${msg.split('\n')[0]}` : msg);
    }
    const conn = await store.connect();
    const existing = Number((await conn.runAndReadAll('SELECT count(*) FROM executions')).getRows()[0]![0]);
    conn.closeSync();
    if (existing > 0 && !opts.append) {
      await store.close();
      fail(`${config.db} already holds ${existing} executions: pass --append to add synthetic ones, or choose a new --db`);
    }

    const bar = new cliProgress.SingleBar(
      {
        format: `synth [{bar}] {percentage}% | {value}/{total} rows${model ? ' | {contents} contents embedded' : ''} | {duration_formatted} elapsed, ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 200,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(1, rows), 0, { contents: 0 });
    let result: SynthResult;
    try {
      result = await synthesize(store, {
        rows,
        days,
        seed,
        vectors: model?.vectors,
        onProgress: (p) => bar.update(p.rows, { contents: p.contents }),
      });
    } catch (err) {
      bar.stop();
      await store.close().catch(() => undefined);
      fail(`synth failed: ${(err as Error).message}`);
    }
    bar.stop();
    await model?.close();
    await store.close();

    const seconds = (performance.now() - started) / 1000;
    const mib = fileSize(config.db) / 2 ** 20;
    const dupes = result.duplicates > 0 ? ` (${result.duplicates} already present)` : '';
    const vectors = model ? `${result.contents} distinct contents embedded with ${vectorModelId(model.vectors.embedder.modelId, config.embedContent)}` : 'no vectors';
    process.stdout.write(
      `synth: ${result.inserted} rows written to ${config.db}${dupes}, ${vectors}, ${seconds.toFixed(1)} s, DB ${mib.toFixed(1)} MiB\n`,
    );
  });
}
