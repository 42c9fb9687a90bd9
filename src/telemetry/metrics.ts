// orb-learn's own Prometheus metrics. One registry per server, so several can share a process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class IngestMetrics {
  readonly registry = new Registry();
  readonly spansReceived = new Counter({ name: 'orb_spans_received_total', help: 'Spans received, execution or not', labelNames: ['transport'], registers: [this.registry] });
  readonly spansAccepted = new Counter({ name: 'orb_spans_accepted_total', help: 'Execution spans validated and committed', registers: [this.registry] });
  readonly spansRejected = new Counter({ name: 'orb_spans_rejected_total', help: 'Execution spans that failed validation (kept in rejected_spans)', registers: [this.registry] });
  readonly spansNonExecution = new Counter({ name: 'orb_spans_non_execution_total', help: 'Spans without execution.* attributes (not stored)', registers: [this.registry] });
  readonly spansDuplicate = new Counter({ name: 'orb_spans_duplicate_total', help: 'Execution spans whose task_id was already stored (redeliveries)', registers: [this.registry] });
  readonly feedback = new Counter({ name: 'orb_feedback_total', help: 'Feedback records accepted, by path', labelNames: ['source'], registers: [this.registry] });
  readonly requests = new Counter({ name: 'orb_export_requests_total', help: 'Export requests by transport and outcome', labelNames: ['transport', 'outcome'], registers: [this.registry] });
  readonly grpcConnections = new Counter({ name: 'orb_grpc_connections_total', help: 'gRPC connections accepted, and those destroyed for silence (no byte in or out past the idle timeout)', labelNames: ['event'], registers: [this.registry] });
  readonly batches = new Counter({ name: 'orb_commit_batches_total', help: 'Group-commit transactions', registers: [this.registry] });
  readonly commitRows = new Counter({ name: 'orb_commit_rows_total', help: 'Rows written by group commits (executions + rejected)', registers: [this.registry] });
  readonly commitSeconds = new Histogram({
    name: 'orb_commit_duration_seconds',
    help: 'Time to commit one group of requests',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'orb_queue_depth_rows', help: 'Rows waiting for a group commit', registers: [this.registry] });
  readonly queueDepthBytes = new Gauge({ name: 'orb_queue_depth_bytes', help: 'Estimated bytes of the rows waiting for a group commit (bounded by --memory-limit)', registers: [this.registry] });

  readonly genaiSpans = new Counter({ name: 'orb_genai_spans_total', help: 'GenAI/OpenInference spans committed to wait for their run: agent spans and inference calls', labelNames: ['kind'], registers: [this.registry] });
  readonly genaiRuns = new Counter({ name: 'orb_genai_runs_total', help: 'GenAI runs assembled after the settle wait, by outcome (stored, duplicate, rejected)', labelNames: ['outcome'], registers: [this.registry] });
  readonly genaiCallsCounted = new Counter({ name: 'orb_genai_calls_counted_total', help: 'Inference calls counted in an execution: when it was assembled, or late (revising it and the summaries)', labelNames: ['when'], registers: [this.registry] });
  readonly genaiCallsExpired = new Counter({ name: 'orb_genai_calls_expired_total', help: 'Inference calls dropped unused: no agent span came (no_agent), the pending bound was hit (overflow), or already counted (duplicate)', labelNames: ['reason'], registers: [this.registry] });
  readonly genaiUnpriced = new Counter({ name: 'orb_genai_unpriced_runs_total', help: 'Runs with tokens from a model the price table does not know (costed at 0, flagged in metadata.genai.unpriced_models)', registers: [this.registry] });
  readonly genaiPending = new Gauge({ name: 'orb_genai_pending_spans', help: 'GenAI spans stored and waiting (agent: for the settle wait; call: for its agent)', labelNames: ['kind'], registers: [this.registry] });
  readonly genaiPendingBytes = new Gauge({ name: 'orb_genai_pending_bytes', help: 'Approximate storage held by pending GenAI spans', registers: [this.registry] });

  readonly embeddings = new Counter({ name: 'orb_embeddings_total', help: 'Execution vectors written, by where they came from', labelNames: ['source'], registers: [this.registry] });
  readonly embedSeconds = new Histogram({
    name: 'orb_embedding_batch_duration_seconds',
    help: 'Time to embed and store one batch of executions',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly embedYieldSeconds = new Counter({ name: 'orb_embedding_yield_seconds_total', help: 'Time embedding batches waited for a busy ingest', registers: [this.registry] });
  /** Where the vector index's size is read from; set once embedding runs. */
  vectorIndexSource: () => number = () => 0;
  readonly vectorIndexBytes: Gauge = new Gauge({
    name: 'orb_vector_index_bytes',
    help: "Memory held by the vector index's int8 codes: it grows with the executions and is outside --memory-limit",
    registers: [this.registry],
    collect: (): void => this.vectorIndexBytes.set(this.vectorIndexSource()),
  });
  readonly embedBacklog = new Gauge({ name: 'orb_embedding_backlog_rows', help: 'Committed executions waiting for a vector (in memory)', registers: [this.registry] });
  readonly embedTruncated = new Counter({ name: 'orb_embedding_truncated_total', help: 'Texts cut at the token limit before embedding', registers: [this.registry] });
  readonly embedTokens = new Counter({ name: 'orb_embedding_tokens_total', help: 'Tokens fed to the model: real, and padded (real + padding)', labelNames: ['kind'], registers: [this.registry] });

  readonly snapshotSeconds = new Histogram({ name: 'orb_snapshot_duration_seconds', help: 'Time to publish a read-only snapshot', buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [this.registry] });
  readonly snapshotBytes = new Gauge({ name: 'orb_snapshot_bytes', help: 'Size of the last published snapshot', registers: [this.registry] });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'orb_' });
  }
}
