// orb-learn reembed: give every execution a vector from the active model. Progress is what the
// database holds, so an interrupted run resumes where it stopped. When a server holds the file,
// the server does the work (it keeps ingesting) and this command follows its progress.
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { EmbedClient } from '../../embed/embed-client.js';
import { EmbeddingIndexer } from '../../embed/indexer.js';
import { resolveModel, modelOptions } from '../../embed/model.js';
import { MissingDatabaseError, Store } from '../../store/db.js';
import { createLogger } from '../../telemetry/log.js';
import { addDeprecatedHttp, addSettings, fail, isLockError, MODEL_FLAGS, settings, warnDeprecatedHttp } from '../common.js';
import { addServerOptions, callServer, okJson, serverTarget } from '../server-client.js';

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
  const cmd = addSettings(
    program.command('reembed').description('embed every execution that lacks a vector from the active model (resumable)').option('--db <PATH>', 'DuckDB file (it must exist)'),
    [...MODEL_FLAGS, ['embedThreads', 'N', 'onnxruntime threads (default 1)'], ['embedBatchSize', 'N', 'texts per model call (default 8)']],
  );
  addDeprecatedHttp(addServerOptions(cmd, 'the server that holds the file, which then does the work (default http://127.0.0.1:4318)')).action(async (opts: Record<string, unknown>) => {
    const config = settings(opts);
    warnDeprecatedHttp(opts);
    let store: Store;
    try {
      store = await Store.open({ path: config.db, mustExist: true });
    } catch (err) {
      if (err instanceof MissingDatabaseError) fail(`${err.message}: give --db PATH of an existing database (nothing was created)`);
      if (!isLockError(err)) fail((err as Error).message);
      // A server holds the file: ask it to do the work and follow along.
      try {
        const target = serverTarget(opts, config);
        okJson(target, 'POST', '/v1/embeddings/reembed', await callServer(target, 'POST', '/v1/embeddings/reembed'));
        const read = async () => okJson(target, 'GET', '/v1/embeddings', await callServer(target, 'GET', '/v1/embeddings')) as Coverage;
        const c = await follow(read, (x) => x.missing <= 0);
        process.stdout.write(`${c.embedded} of ${c.executions} executions have a ${c.modelId} vector (done by the server at ${target.base})\n`);
      } catch (e) {
        fail(`${config.db} is held by another process (a running server?), and asking the server failed: ${(e as Error).message}`);
      }
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
