// The main-thread side of embed-thread.ts: one request at a time per thread, promises in order.
import { Worker } from 'node:worker_threads';
import type { EmbedderOptions, EmbedResult } from './embedder.js';
import type { EmbedReply, EmbedThreadData, ReadyMessage } from './embed-thread.js';
import type { ModelFiles } from './model.js';

const THREAD_URL = new URL('./embed-thread.js', import.meta.url);

export class EmbedClient {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(r: EmbedResult): void; reject(e: Error): void }>();

  private constructor(
    private readonly worker: Worker,
    readonly modelId: string,
    readonly dimension: number,
    readonly files: ModelFiles,
  ) {
    worker.on('message', (m: EmbedReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve(m);
    });
    worker.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`embedding thread exited with code ${code}`));
      this.pending.clear();
    });
  }

  static start(files: ModelFiles, options: EmbedderOptions = {}, nice = 10): Promise<EmbedClient> {
    const data: EmbedThreadData = { files, options, nice };
    const worker = new Worker(THREAD_URL, { workerData: data });
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m: ReadyMessage) => {
        worker.off('error', reject);
        if (m.ready) resolve(new EmbedClient(worker, m.modelId, m.dimension, files));
        else {
          void worker.terminate();
          reject(new Error(`could not load the embedding model from ${files.dir}: ${m.error}`));
        }
      });
    });
  }

  embed(texts: string[]): Promise<EmbedResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, texts });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
