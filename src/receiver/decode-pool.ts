// A small pool of decode workers. On 2 cores, one worker doubles the CPU an export can use:
// the main thread keeps gRPC/HTTP and DuckDB's synchronous append, the worker decodes,
// validates and converts. A worker that dies fails its tasks as retryable and is replaced.
// Bodies in flight are bounded in bytes (a decoded body takes several times its wire size):
// past the bound an export is pushed back as overloaded, so fat requests cannot pile up.
import { Worker } from 'node:worker_threads';
import type { ConvertedRequest } from '../convert/span-to-record.js';
import { OverloadedError, RetryableError } from '../errors.js';
import type { Logger } from '../telemetry/log.js';
import type { Encoding } from './codec.js';
import { TRANSPORTABLE_ERRORS, type Decoder } from './decode.js';
import type { DecodeReply, DecodeTask } from './decode-worker.js';

const WORKER_URL = new URL('./decode-worker.js', import.meta.url);

interface Pending {
  resolve(c: ConvertedRequest): void;
  reject(e: unknown): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

export class DecodePool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;
  private inFlightBytes = 0;

  constructor(
    size: number,
    private readonly log: Logger,
    /** Most body bytes being decoded at once; an idle pool admits any one body. */
    private readonly maxInFlightBytes = Infinity,
    private readonly retryAfterSeconds = 1,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(WORKER_URL), pending: new Map() };
    slot.worker.on('message', (reply: DecodeReply) => {
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      if ('ok' in reply) p.resolve(reply.ok);
      else {
        const Ctor = TRANSPORTABLE_ERRORS[reply.error.name as keyof typeof TRANSPORTABLE_ERRORS] ?? Error;
        p.reject(new Ctor(reply.error.message));
      }
    });
    slot.worker.on('error', (err) => this.log.error({ err }, 'decode worker failed'));
    slot.worker.on('exit', (code) => {
      for (const p of slot.pending.values()) p.reject(new RetryableError(`decode worker exited with code ${code}`));
      slot.pending.clear();
      if (this.closed) return;
      const i = this.slots.indexOf(slot);
      if (i !== -1) this.slots[i] = this.spawn();
    });
    return slot;
  }

  /** The least-loaded worker takes the body; the body is copied, since transport buffers are pooled. */
  readonly decode: Decoder = (body: Uint8Array, enc: Encoding, receivedAt: Date) => {
    if (this.closed) return Promise.reject(new RetryableError('orb-learn is shutting down'));
    const size = body.byteLength;
    if (this.inFlightBytes > 0 && this.inFlightBytes + size > this.maxInFlightBytes)
      return Promise.reject(
        new OverloadedError(`decode pool full (${this.inFlightBytes} bytes being decoded, limit ${this.maxInFlightBytes}, from --memory-limit)`, this.retryAfterSeconds),
      );
    this.inFlightBytes += size;
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const copy = new Uint8Array(body);
    const id = this.nextId++;
    return new Promise<ConvertedRequest>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      const task: DecodeTask = { id, body: copy, enc, receivedAtMs: receivedAt.getTime() };
      slot.worker.postMessage(task, [copy.buffer]);
    }).finally(() => {
      this.inFlightBytes -= size;
    });
  };

  /** Body bytes being decoded now. */
  get bytesInFlight(): number {
    return this.inFlightBytes;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
