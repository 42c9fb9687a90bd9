// Assembles GenAI runs from the spans the store keeps pending, on a timer:
//  1. agent spans older than the settle wait become executions, with every call already under them;
//  2. calls that arrive once their execution is stored revise it (tier, cost, tokens, summaries);
//  3. calls that never meet an agent span expire (orphan TTL, or the pending bound), counted.
// Each step is one commit through the writer, so a crash between steps loses nothing and a call
// is counted once: it leaves the pending table in the transaction that counts it.
import type { DuckDBConnection } from '@duckdb/node-api';
import { reviseRun, settleRun, type GenAiSettings } from '../convert/genai/derive.js';
import type { ExecutionRow } from '../convert/record.js';
import { rejectedSpan, type RejectedSpan } from '../convert/rejected.js';
import type { FeedbackRow } from '../convert/feedback.js';
import type { InferenceCall } from '../convert/genai/spans.js';
import { callsUnder, dueAgents, type PendingAgent, expiredCalls, lateCalls, pendingStats, type Revision, type SettledWork } from '../store/genai-pending.js';
import type { IngestMetrics } from '../telemetry/metrics.js';
import type { Committer } from './group-commit.js';

export interface SettlerOptions {
  settleMs: number;
  orphanTtlMs: number;
  maxPending: number;
  /** Between rounds when there is nothing to do. */
  tickMs?: number;
  /** Most runs assembled, or executions revised, in one commit. */
  batch?: number;
}

export interface SettlerHooks {
  /** Executions just committed from runs (to embed, to publish). */
  onSettled?(rows: readonly ExecutionRow[]): void;
  onError?(err: unknown): void;
}

export interface TickReport {
  settled: number;
  revised: number;
  expired: number;
}

export class GenAiSettler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private statsAt = 0;
  private readonly tickMs: number;
  private readonly batch: number;

  constructor(
    private readonly writer: Committer,
    private readonly read: DuckDBConnection,
    private readonly settings: GenAiSettings,
    private readonly metrics: IngestMetrics | null,
    private readonly opts: SettlerOptions,
    private readonly hooks: SettlerHooks = {},
  ) {
    this.tickMs = opts.tickMs ?? Math.max(50, Math.min(500, Math.floor(opts.settleMs / 4)));
    this.batch = opts.batch ?? 500;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.tick().then(
        (r) => this.schedule(r.settled >= this.batch || r.revised >= this.batch ? 0 : this.tickMs),
        (err: unknown) => {
          this.hooks.onError?.(err);
          this.schedule(this.tickMs * 4);
        },
      );
    }, ms);
    this.timer.unref();
  }

  /** Stops the timer and waits for a round in progress; what is pending stays stored for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running.catch(() => undefined);
  }

  /** One round of the three steps (rounds never overlap: each reads what the last committed). */
  tick(now = new Date()): Promise<TickReport> {
    const run = this.running.then(() => this.round(now));
    this.running = run.catch(() => undefined);
    return run;
  }

  private async round(now: Date): Promise<TickReport> {
    const settled = await this.settleDue(now);
    // A call revises an execution received at most the orphan TTL before it (so the scan stays recent).
    const since = new Date(now.getTime() - this.opts.orphanTtlMs - this.opts.settleMs);
    const revised = await this.reviseLate(since);
    const expired = await this.expire(now, since);
    // The gauges read the whole pending table: at most once a second, and after any change.
    if (settled + revised + expired > 0 || now.getTime() - this.statsAt >= 1000) {
      this.statsAt = now.getTime();
      const stats = await pendingStats(this.read);
      this.metrics?.genaiPending.set({ kind: 'agent' }, stats.agents);
      this.metrics?.genaiPending.set({ kind: 'call' }, stats.calls);
      this.metrics?.genaiPendingBytes.set(stats.bytes);
    }
    return { settled, revised, expired };
  }

  private async settleDue(now: Date): Promise<number> {
    const agents = await dueAgents(this.read, new Date(now.getTime() - this.opts.settleMs), this.batch);
    if (agents.length === 0) return 0;
    const calls = await callsUnder(this.read, agents);
    const under = new Map<string, typeof calls>();
    for (const c of calls) {
      const k = `${c.trace_id}/${c.parent_span_id}`;
      under.set(k, [...(under.get(k) ?? []), c]);
    }
    const rows: ExecutionRow[] = [];
    const rejected: RejectedSpan[] = [];
    const feedback: FeedbackRow[] = [];
    const settled: SettledWork[] = [];
    let counted = 0;
    let unpriced = 0;
    for (const a of agents) {
      const mine = under.get(`${a.trace_id}/${a.span_id}`) ?? [];
      const r = this.settleOne(a, mine.map((c) => c.call));
      if (r.row) {
        rows.push(r.row);
        counted += mine.length;
        if (((r.row.metadata.genai as { unpriced_models?: string[] }).unpriced_models ?? []).length > 0) unpriced++;
      }
      if (r.rejected) rejected.push(r.rejected);
      feedback.push(...r.feedback);
      rejected.push(...r.rejectedFeedback);
      settled.push({ agent: a.pending_id, task_id: r.row?.task_id ?? null, calls: mine.map((c) => c.pending_id) });
    }
    const result = await this.writer.commit({ executions: rows, rejected, feedback, genai: { settled } });
    this.metrics?.genaiRuns.inc({ outcome: 'stored' }, result.inserted);
    this.metrics?.genaiRuns.inc({ outcome: 'duplicate' }, result.duplicates);
    this.metrics?.genaiRuns.inc({ outcome: 'rejected' }, agents.length - rows.length);
    this.metrics?.genaiCallsCounted.inc({ when: 'settle' }, counted);
    this.metrics?.genaiUnpriced.inc(unpriced);
    this.hooks.onSettled?.(rows);
    return agents.length;
  }

  /** A run that cannot be assembled is rejected with the reason, never retried forever. */
  private settleOne(a: PendingAgent, calls: InferenceCall[]): ReturnType<typeof settleRun> {
    try {
      return settleRun(a.agent, calls, a.received_at, this.settings);
    } catch (err) {
      this.hooks.onError?.(err);
      const span = a.agent?.span ?? {};
      const resource = a.agent?.resource ?? {};
      const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : null;
      const origin = { resource, serviceName, receivedAt: a.received_at, traceId: a.trace_id, spanId: a.span_id };
      return { feedback: [], rejectedFeedback: [], rejected: rejectedSpan(span, origin, `GenAI run could not be assembled: ${(err as Error).message}`, `rejected-genai/${a.pending_id}`) };
    }
  }

  private async reviseLate(since: Date): Promise<number> {
    const groups = await lateCalls(this.read, this.batch * 4, since);
    if (groups.length === 0) return 0;
    const revisions: Revision[] = [];
    const drop: string[] = [];
    let late = 0;
    for (const g of groups) {
      let next: ExecutionRow | null;
      try {
        next = reviseRun(g.execution, g.calls.map((c) => c.call), this.settings.tables);
      } catch (err) {
        // Dropped rather than retried forever; counted as duplicates are.
        this.hooks.onError?.(err);
        next = null;
      }
      const ids = g.calls.map((c) => c.pending_id);
      if (next) {
        revisions.push({ old: g.execution, next, calls: ids });
        late += ids.length;
      } else drop.push(...ids);
    }
    await this.writer.commit({ executions: [], rejected: [], genai: { revisions, drop } });
    this.metrics?.genaiCallsCounted.inc({ when: 'late' }, late);
    this.metrics?.genaiCallsExpired.inc({ reason: 'duplicate' }, drop.length);
    return revisions.length;
  }

  private async expire(now: Date, since: Date): Promise<number> {
    const { orphan, overflow } = await expiredCalls(this.read, new Date(now.getTime() - this.opts.orphanTtlMs), this.opts.maxPending, since);
    if (orphan.length + overflow.length === 0) return 0;
    await this.writer.commit({ executions: [], rejected: [], genai: { drop: [...orphan, ...overflow] } });
    this.metrics?.genaiCallsExpired.inc({ reason: 'no_agent' }, orphan.length);
    this.metrics?.genaiCallsExpired.inc({ reason: 'overflow' }, overflow.length);
    return orphan.length + overflow.length;
  }
}
