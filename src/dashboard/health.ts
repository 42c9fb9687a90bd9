// The health panel's answer: what the store knows (the `health` query: ingest per hour,
// rejections by reason, archive runs) plus, on a running server, what /metrics knows (counters,
// queue and embedding backlog), the vector index and the last snapshot.
import type { Registry } from 'prom-client';
import type { QueryLibrary, QueryResult } from '../query/library.js';

export interface LiveState {
  registry: Registry;
  startedAt: Date;
  /** Vectors held by the in-process index, for the active model; null while no model is loaded. */
  index(): { modelId: string; size: number } | null;
  snapshot(): { path: string; publishedAt: Date; bytes: number; seconds: number } | null;
}

export interface LiveHealth {
  uptime_seconds: number;
  metrics: Record<string, number>;
  /** Execution spans accepted per second over the last minute or so (since start, at first). */
  ingest_per_second: number;
  embedding: { model_id: string; indexed: number } | null;
  snapshot: { path: string; published_at: string; age_seconds: number; bytes: number; seconds: number } | null;
}

export interface DashboardHealth {
  generated_at: string;
  store: QueryResult;
  live: LiveHealth | null;
}

/** The metrics shown, by their /metrics names; label sets are summed. */
export const HEALTH_METRICS = [
  'orb_spans_received_total',
  'orb_spans_accepted_total',
  'orb_spans_rejected_total',
  'orb_spans_duplicate_total',
  'orb_spans_non_execution_total',
  'orb_feedback_total',
  'orb_queue_depth_rows',
  'orb_embedding_backlog_rows',
  'orb_embeddings_total',
] as const;

async function metricValues(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of HEALTH_METRICS) {
    const m = await registry.getSingleMetric(name)?.get();
    out[name] = (m?.values ?? []).reduce((n, v) => n + v.value, 0);
  }
  return out;
}

/** Remembers accepted-span counts at the times health was asked, to give a recent rate without a timer. */
export class IngestRate {
  private samples: { t: number; n: number }[] = [];

  constructor(private readonly startedAt: number) {}

  rate(now: number, accepted: number): number {
    this.samples = this.samples.filter((s) => now - s.t <= 300_000);
    const base = [...this.samples].reverse().find((s) => now - s.t >= 60_000) ?? this.samples[0] ?? { t: this.startedAt, n: 0 };
    this.samples.push({ t: now, n: accepted });
    const dt = (now - base.t) / 1000;
    return dt > 0 ? (accepted - base.n) / dt : 0;
  }
}

export async function dashboardHealth(queries: Pick<QueryLibrary, 'run'>, live: (LiveState & { rate: IngestRate }) | null, now = new Date()): Promise<DashboardHealth> {
  const store = await queries.run('health', {}, { now });
  if (!live) return { generated_at: now.toISOString(), store, live: null };
  const metrics = await metricValues(live.registry);
  const index = live.index();
  const snap = live.snapshot();
  return {
    generated_at: now.toISOString(),
    store,
    live: {
      uptime_seconds: Math.round((now.getTime() - live.startedAt.getTime()) / 1000),
      metrics,
      ingest_per_second: live.rate.rate(now.getTime(), metrics.orb_spans_accepted_total ?? 0),
      embedding: index ? { model_id: index.modelId, indexed: index.size } : null,
      snapshot: snap
        ? { path: snap.path, published_at: snap.publishedAt.toISOString(), age_seconds: Math.round((now.getTime() - snap.publishedAt.getTime()) / 1000), bytes: snap.bytes, seconds: snap.seconds }
        : null,
    },
  };
}
