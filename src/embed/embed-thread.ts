// The embedder on its own thread, at low CPU priority: onnxruntime-node runs inference
// synchronously, and acknowledgements must never wait behind a model.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { OnnxEmbedder, type EmbedderOptions } from './embedder.js';
import type { ModelFiles } from './model.js';

export interface EmbedThreadData {
  files: ModelFiles;
  options: EmbedderOptions;
  /** Linux nice value for this thread only (setpriority on a thread id); 0 leaves it alone. */
  nice: number;
}

export type EmbedRequest = { id: number; texts: string[] };
export type EmbedReply =
  | { id: number; vectors: Float32Array[]; truncated: number; paddedTokens: number; realTokens: number }
  | { id: number; error: string };
export type ReadyMessage = { ready: true; modelId: string; dimension: number } | { ready: false; error: string };

const data = workerData as EmbedThreadData;

async function main(): Promise<void> {
  if (data.nice > 0) {
    try {
      // On Linux, PRIO_PROCESS with pid 0 applies to the calling thread alone.
      setPriority(0, data.nice);
    } catch {
      /* not permitted here: run at normal priority */
    }
  }
  let embedder: OnnxEmbedder;
  try {
    embedder = await OnnxEmbedder.load(data.files, data.options);
  } catch (err) {
    parentPort!.postMessage({ ready: false, error: (err as Error).message } satisfies ReadyMessage);
    return;
  }
  parentPort!.postMessage({ ready: true, modelId: embedder.modelId, dimension: embedder.dimension } satisfies ReadyMessage);
  parentPort!.on('message', (req: EmbedRequest) => {
    embedder.embed(req.texts).then(
      (r) => {
        const reply: EmbedReply = { id: req.id, ...r };
        parentPort!.postMessage(reply, r.vectors.map((v) => v.buffer as ArrayBuffer));
      },
      (err: unknown) => parentPort!.postMessage({ id: req.id, error: (err as Error).message } satisfies EmbedReply),
    );
  });
}

void main();
