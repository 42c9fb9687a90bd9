// A small pool of decode workers. On 2 cores, one worker doubles the CPU an export can use:
// the main thread keeps gRPC/HTTP and DuckDB's synchronous append, the worker decodes,
// validates and converts. A worker that dies fails its tasks as retryable and is replaced.
// Bodies in flight are bounded in bytes (a decoded body takes several times its wire size):
// past the bound an export is pushed back as overloaded, so fat requests cannot pile up.
import { Worker } from 'node:worker_threads';
import type { ConvertedRequest } from '../convert/span-to-record.js';
import { OverloadedError, RetryableError, TooLargeError } from '../errors.js';
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
  outOfMemory: boolean;
}

export interface DecodePoolLimits {
  /** Most body bytes being decoded at once; an idle pool admits any one body. */
  maxInFlightBytes?: number;
  /** V8 old-generation ceiling of each worker. */
  maxHeapBytes?: number;
  retryAfterSeconds?: number;
}

export class DecodePool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;
  private inFlightBytes = 0;

  constructor(
    size: number,
    private readonly log: Logger,
    private readonly opts: DecodePoolLimits = {},
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    // A worker's heap is capped (its garbage is collected before it grows past the cap): a request
    // whose decoding needs more ends that worker, and is refused as too large rather than retried for ever.
    const resourceLimits = Number.isFinite(this.opts.maxHeapBytes) ? { maxOldGenerationSizeMb: Math.ceil(this.opts.maxHeapBytes! / 2 ** 20) } : undefined;
    const slot: Slot = { worker: new Worker(WORKER_URL, { resourceLimits }), pending: new Map(), outOfMemory: false };
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
    slot.worker.on('error', (err) => {
      slot.outOfMemory = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.log.error({ err }, 'decode worker failed');
    });
    slot.worker.on('exit', (code) => {
      let first = slot.outOfMemory;
      for (const p of slot.pending.values()) {
        // The worker decodes one task at a time, the oldest: that one ran out of memory, the rest only waited.
        if (first)
          p.reject(new TooLargeError(`decoding the request needed more than the decode heap of ${Math.ceil(this.opts.maxHeapBytes! / 2 ** 20)} MiB (from --memory-limit): send smaller batches`));
        else p.reject(new RetryableError(`decode worker exited with code ${code}`));
        first = false;
      }
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
    const max = this.opts.maxInFlightBytes ?? Infinity;
    if (this.inFlightBytes > 0 && this.inFlightBytes + size > max)
      return Promise.reject(new OverloadedError(`decode pool full (${this.inFlightBytes} bytes being decoded, limit ${max}, from --memory-limit)`, this.opts.retryAfterSeconds));
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
