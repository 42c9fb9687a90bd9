// Worker thread: decodes and converts export bodies so the main thread keeps to I/O and DuckDB.
import { parentPort } from 'node:worker_threads';
import type { Encoding } from './codec.js';
import { decodeAndConvert } from './decode.js';

export interface DecodeTask {
  id: number;
  body: Uint8Array;
  enc: Encoding;
  receivedAtMs: number;
}

export type DecodeReply =
  | { id: number; ok: ReturnType<typeof decodeAndConvert> }
  | { id: number; error: { name: string; message: string } };

parentPort!.on('message', (task: DecodeTask) => {
  let reply: DecodeReply;
  try {
    reply = { id: task.id, ok: decodeAndConvert(task.body, task.enc, new Date(task.receivedAtMs)) };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { id: task.id, error: { name: e.name, message: e.message } };
  }
  parentPort!.postMessage(reply);
});
