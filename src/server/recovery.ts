// Recovery from an invalidated database without a restart. DuckDB invalidates its instance for ever after a
// fatal error (a checkpoint on a full disk, a folder turned read-only). The instance, with every part that
// holds a connection on it, is then let go: the receivers answer UNAVAILABLE while there is none, and a new
// one is opened on the file (which replays the WAL) with back-off until the cause is gone. A reopened
// instance must checkpoint before it is used: that is what proves the disk has room and the folder is
// writable again. A file DuckDB calls corrupt, or attempts run out, is a failure only a restart (or an
// operator) can end, and liveness says so.
import type { StoreHealth } from '../store/fault.js';
import { causeOf } from '../store/fault.js';

export interface Reopenable {
  readonly store: { health(): Promise<StoreHealth> };
  close(): Promise<void>;
}

export type StoreState =
  | { kind: 'open' }
  | { kind: 'recovering'; reason: string; since: Date; attempts: number; lastError: string | null }
  | { kind: 'failed'; reason: string; since: Date; attempts: number; lastError: string | null };

export interface RecoveryOptions {
  /** Reopen attempts before recovery gives up and liveness fails. */
  maxAttempts: number;
  /** Wait before the first attempt; doubled after each failed one, up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export interface RecoveryHooks {
  onInvalidated?(reason: string): void;
  onAttemptFailed?(err: unknown, attempt: number, nextDelayMs: number): void;
  onRecovered?(attempts: number, seconds: number): void;
  onFailed?(reason: string, lastError: string | null): void;
  /** The old instance could not be closed cleanly (it is let go all the same). */
  onCloseError?(err: unknown): void;
}

/** Errors that no wait mends: the file itself is damaged or not a database this DuckDB reads. */
const UNRECOVERABLE = /not a valid DuckDB database|corrupt|checksum|Serialization Error|INTERNAL Error|created with an? (older|newer)|incompatible|storage version/i;

export function isUnrecoverableOpenError(err: unknown): boolean {
  return UNRECOVERABLE.test(err instanceof Error ? err.message : String(err));
}

const messageOf = (err: unknown) => causeOf(err instanceof Error ? err.message : String(err));

export class StoreRecovery<T extends Reopenable> {
  private live: T | null;
  private state: StoreState = { kind: 'open' };
  private recovering: Promise<void> | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    first: T,
    /** Opens a new instance on the file and proves it writable (a checkpoint), or throws. */
    private readonly reopen: () => Promise<T>,
    private readonly opts: RecoveryOptions,
    private readonly hooks: RecoveryHooks = {},
  ) {
    this.live = first;
  }

  /** The instance in use, or null while there is none (recovering, failed, stopped). */
  current(): T | null {
    return this.live;
  }

  status(): StoreState {
    return this.state;
  }

  /** Settles when a recovery under way has ended (recovered or failed); at once when none is. */
  settled(): Promise<void> {
    return this.recovering ?? Promise.resolve();
  }

  /** Looks at the instance now; an invalidated one starts recovery. Throws if the probe itself failed. */
  async check(): Promise<StoreState> {
    const live = this.live;
    if (live && this.state.kind === 'open' && !this.stopped) {
      const health = await live.store.health();
      if (!health.ok && this.live === live) this.begin(live, health.reason, health.since);
    }
    return this.state;
  }

  /** Checks every intervalMs, so a fault is found (and mended) even when nobody probes. */
  watch(intervalMs: number): void {
    this.timer = setInterval(() => void this.check().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  /** Stops watching and any recovery; returns the instance in use, for the caller to close. */
  async stop(): Promise<T | null> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.wake?.();
    await this.recovering;
    const live = this.live;
    this.live = null;
    return live;
  }

  private begin(old: T, reason: string, since: Date): void {
    this.live = null;
    this.state = { kind: 'recovering', reason, since, attempts: 0, lastError: null };
    this.hooks.onInvalidated?.(reason);
    this.recovering = this.recover(old, reason, since).finally(() => (this.recovering = null));
  }

  private async recover(old: T, reason: string, since: Date): Promise<void> {
    const started = performance.now();
    await old.close().catch((err: unknown) => this.hooks.onCloseError?.(err));
    let lastError: string | null = null;
    for (let attempt = 1; !this.stopped; attempt++) {
      await this.sleep(Math.min(this.opts.maxDelayMs, this.opts.firstDelayMs * 2 ** (attempt - 1)));
      if (this.stopped) return;
      try {
        const next = await this.reopen();
        if (this.stopped) {
          await next.close().catch(() => undefined);
          return;
        }
        this.live = next;
        this.state = { kind: 'open' };
        this.hooks.onRecovered?.(attempt, (performance.now() - started) / 1000);
        return;
      } catch (err) {
        lastError = messageOf(err);
        if (isUnrecoverableOpenError(err) || attempt >= this.opts.maxAttempts) {
          this.state = { kind: 'failed', reason, since, attempts: attempt, lastError };
          this.hooks.onFailed?.(reason, lastError);
          return;
        }
        this.state = { kind: 'recovering', reason, since, attempts: attempt, lastError };
        this.hooks.onAttemptFailed?.(err, attempt, Math.min(this.opts.maxDelayMs, this.opts.firstDelayMs * 2 ** attempt));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}
