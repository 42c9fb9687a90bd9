// Rejected spans in the log: a producer whose spans "do not show up" looks here first. One info line
// per rejected span, with its reason, up to `perWindow` lines a window; beyond that the lines are
// counted and one summary line (how many, the commonest reasons) closes the window, so a producer
// that sends nothing but bad spans cannot flood the log. Every rejection stays in rejected_spans.
import type { Logger } from './log.js';

export interface RejectionLogOptions {
  /** Lines logged per window before the rest are only counted (default 10). */
  perWindow?: number;
  /** Window length (default 10 s). */
  windowMs?: number;
  now?: () => number;
}

export interface LoggedRejection {
  rejected_id: string;
  trace_id: string | null;
  span_id: string | null;
  span_name: string | null;
  service_name: string | null;
  reason: string;
}

export class RejectionLog {
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private windowStart = -Infinity;
  private logged = 0;
  private readonly suppressed = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    options: RejectionLogOptions = {},
  ) {
    this.perWindow = options.perWindow ?? 10;
    this.windowMs = options.windowMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Called with the rejections of each committed batch. */
  note(rejected: readonly LoggedRejection[]): void {
    for (const r of rejected) {
      const t = this.now();
      if (t - this.windowStart >= this.windowMs) {
        this.flush();
        this.windowStart = t;
        this.logged = 0;
      }
      if (this.logged < this.perWindow) {
        this.logged++;
        const { rejected_id, trace_id, span_id, span_name, service_name, reason } = r;
        this.log.info({ rejected_id, trace_id, span_id, span_name, service_name, reason }, 'span rejected (kept in rejected_spans; `orb-learn query rejected` lists them)');
      } else {
        this.suppressed.set(r.reason, (this.suppressed.get(r.reason) ?? 0) + 1);
        // The summary is due at the end of the window even if no later rejection comes.
        this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.windowMs - t)).unref();
      }
    }
  }

  /** Logs the summary of what the window did not log line by line; also on stop. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.suppressed.size === 0) return;
    const counts = [...this.suppressed.entries()].sort((a, b) => b[1] - a[1]);
    const total = counts.reduce((n, [, c]) => n + c, 0);
    this.suppressed.clear();
    this.log.info(
      { suppressed: total, window_ms: this.windowMs, reasons: Object.fromEntries(counts.slice(0, 5)) },
      `${total} more span${total === 1 ? '' : 's'} rejected in this window, not logged one by one (see \`orb-learn query rejected\`)`,
    );
  }
}
