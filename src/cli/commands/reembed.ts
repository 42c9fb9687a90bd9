// orb-learn reembed: give every execution a vector from the active model. Progress is what the
// database holds, so an interrupted run resumes where it stopped. When a server holds the file,
// the server does the work (it keeps ingesting) and this command follows its progress.
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { EmbedClient } from '../../embed/embed-client.js';
import { EmbeddingIndexer } from '../../embed/indexer.js';
import { resolveModel, modelOptions } from '../../embed/model.js';
import { Store } from '../../store/db.js';
import { createLogger } from '../../telemetry/log.js';
import { addSettings, fail, MODEL_FLAGS, settings } from '../common.js';

interface Coverage {
  modelId: string;
  executions: number;
  embedded: number;
  missing: number;
}

async function follow(read: () => Promise<Coverage>, done: (c: Coverage) => boolean): Promise<Coverage> {
  let c = await read();
  const bar = new cliProgress.SingleBar(
    { format: `reembed ${c.modelId} [{bar}] {value}/{total} executions`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(1, c.executions), c.embedded);
  while (!done(c)) {
    await new Promise((r) => setTimeout(r, 250));
    c = await read();
    bar.setTotal(Math.max(1, c.executions));
    bar.update(c.embedded);
  }
  bar.stop();
  return c;
}

export function registerReembed(program: Command): void {
  addSettings(
    program.command('reembed').description('embed every execution that lacks a vector from the active model (resumable)').option('--db <PATH>', 'DuckDB file'),
    [...MODEL_FLAGS, ['embedThreads', 'N', 'onnxruntime threads (default 1)'], ['embedBatchSize', 'N', 'texts per model call (default 8)'], ['http', 'HOST:PORT', "a running server's HTTP address"]],
  ).action(async (opts: Record<string, unknown>) => {
    const config = settings(opts);
    let store: Store;
    try {
      store = await Store.open({ path: config.db });
    } catch (err) {
      if (!/lock/i.test((err as Error).message)) fail((err as Error).message);
      // A server holds the file: ask it to do the work and follow along.
      const base = `http://${config.http}`;
      const res = await fetch(`${base}/v1/embeddings/reembed`, { method: 'POST' }).catch((e: Error) => fail(`${config.db} is locked and no server answers at ${base}: ${e.message}`));
      if (res.status !== 202) fail(`the server at ${base} refused: HTTP ${res.status} ${await res.text()}`);
      const c = await follow(async () => (await (await fetch(`${base}/v1/embeddings`)).json()) as Coverage, (x) => x.missing <= 0);
      process.stdout.write(`${c.embedded} of ${c.executions} executions have a ${c.modelId} vector (done by the server)\n`);
      return;
    }
    const log = createLogger('warn');
    const files = await resolveModel(modelOptions(config)).catch((e: Error) => fail(e.message));
    const client = await EmbedClient.start(files, { threads: config.embedThreads }, 0);
    const conn = await store.connect();
    const indexer = new EmbeddingIndexer(conn, client, { batchSize: config.embedBatchSize, maxBacklog: config.embedMaxBacklog, cacheEntries: 20_000, content: config.embedContent }, log);
    await indexer.start();
    const c = await follow(() => indexer.coverage(), (x) => x.missing <= 0);
    await indexer.stop();
    await client.close();
    conn.closeSync();
    await store.close();
    process.stdout.write(`${c.embedded} of ${c.executions} executions have a ${c.modelId} vector\n`);
  });
}
