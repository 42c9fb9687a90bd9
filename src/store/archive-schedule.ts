// The archive schedule inside `serve`: archiveOlderThan every interval, never two at once.
import type { DuckDBConnection } from '@duckdb/node-api';
import { parseDuration } from '../duration.js';
import { archiveOlderThan, type ArchiveOptions, type ArchiveReport, type ConnectionSource } from './archive.js';

export interface ArchiveScheduleOptions extends Omit<ArchiveOptions, 'cutoff' | 'now' | 'dryRun' | 'crashAfter' | 'onStep'> {
  olderThan: string | number;
  /** How often to run ('1d', '6h', or milliseconds). */
  interval: string | number;
  /** Also run once right away (default false: first run after one interval). */
  runAtStart?: boolean;
  onReport?: (report: ArchiveReport) => void;
  onError?: (err: unknown) => void;
}

export interface ArchiveSchedule {
  /** Runs now (waits for a run in progress first); resolves with its report. */
  runNow(): Promise<ArchiveReport>;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
  readonly last: ArchiveReport | null;
}

/**
 * Runs archiveOlderThan every interval, never two at once; the timer does not keep the process
 * alive. A failed run is reported to onError and retried at the next tick (it undid itself).
 * Meant for `serve`: pass the server's Store.
 */
export function startArchiveSchedule(target: ConnectionSource | DuckDBConnection, opts: ArchiveScheduleOptions): ArchiveSchedule {
  const intervalMs = typeof opts.interval === 'number' ? opts.interval : parseDuration(opts.interval);
  if (!(intervalMs > 0)) throw new Error(`archive schedule: interval must be > 0, got ${opts.interval}`);
  typeof opts.olderThan === 'number' || parseDuration(opts.olderThan); // fail now, not at the first tick
  let last: ArchiveReport | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const { interval: _i, runAtStart: _r, onReport, onError, ...archiveOpts } = opts;
  const runNow = (): Promise<ArchiveReport> => {
    const p = archiveOlderThan(target, archiveOpts).then((r) => {
      last = r;
      onReport?.(r);
      return r;
    });
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    running = settled;
    void settled.then(() => {
      if (running === settled) running = null;
    });
    return p;
  };
  const tick = () => {
    if (stopped || running) return;
    runNow().catch((err) => onError?.(err));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  if (opts.runAtStart) tick();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
    get last() {
      return last;
    },
  };
}
