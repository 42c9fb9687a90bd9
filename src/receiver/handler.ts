// The per-signal handler: convert, hand on, count, answer. Shared by gRPC and HTTP.
import type { RejectedSpan } from '../convert/rejected.js';
import { MAX_REJECTS_KEPT } from '../convert/span-load.js';
import type { ConvertedRequest } from '../convert/span-to-record.js';
import type { ExportTraceResponse } from '../convert/wire-types.js';
import { isRefusedExecution } from '../pipeline/bisect.js';
import type { BatchConsumer } from '../pipeline/consumer.js';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { IngestMetrics } from '../telemetry/metrics.js';
import { SELF_SCOPE } from '../telemetry/scope.js';
import { decodeJson, encodeResponse, type Encoding } from './codec.js';
import type { Decoder } from './decode.js';
import type { Forwarder } from './forward.js';
import { ExportTraceServiceRequest } from './proto-root.js';

export interface ExportDeps {
  consumer: BatchConsumer;
  metrics: IngestMetrics;
  decode: Decoder;
  /** In-line mode: pass every request on, unchanged, and answer only once the downstream has. */
  forward?: Forwarder | null;
  now?: () => Date;
}

const MAX_REASONS = 3;

function partialMessage(rejected: RejectedSpan[], notKept: number, total: number): string {
  const count = rejected.length + notKept;
  const first = rejected
    .slice(0, MAX_REASONS)
    .map((r) => `span ${r.span_id ?? '?'}${r.span_name ? ` (${r.span_name})` : ''}: ${r.reason}`);
  const more = count > MAX_REASONS ? `; and ${count - MAX_REASONS} more` : '';
  const kept = notKept ? `${rejected.length} kept in rejected_spans as a sample, the other ${notKept} counted only: at most ${MAX_REJECTS_KEPT} are kept per request` : 'kept in rejected_spans';
  return `${count} of ${total} spans rejected (${kept}): ${first.join(' | ')}${more}`;
}

async function commitConverted(c: ConvertedRequest, transport: string, deps: ExportDeps): Promise<ExportTraceResponse> {
  deps.metrics.spansReceived.inc({ transport }, c.total);
  deps.metrics.spansNonExecution.inc(c.nonExecution);
  const notKept = c.rejectedNotKept ?? 0;
  if (c.executions.length === 0 && c.rejected.length === 0 && c.feedback.length === 0 && c.genaiPending.length === 0 && notKept === 0) return {};
  const { refused = [] } = await deps.consumer.consume(c);
  // Rows the database refused for good are kept in rejected_spans like validation rejects.
  const rejected = refused.length ? [...c.rejected, ...refused] : c.rejected;
  deps.metrics.spansAccepted.inc(c.executions.length - refused.filter(isRefusedExecution).length);
  if (c.genaiPending.length) {
    const agents = c.genaiPending.reduce((n, g) => n + (g.kind === 'agent' ? 1 : 0), 0);
    deps.metrics.genaiSpans.inc({ kind: 'agent' }, agents);
    deps.metrics.genaiSpans.inc({ kind: 'call' }, c.genaiPending.length - agents);
  }
  deps.metrics.feedback.inc({ source: 'otlp' }, c.feedback.length);
  deps.metrics.spansRejected.inc(rejected.length + notKept);
  if (rejected.length + notKept === 0) return {};
  return { partialSuccess: { rejectedSpans: rejected.length + notKept, errorMessage: partialMessage(rejected, notKept, c.total) } };
}

const tracer = trace.getTracer(SELF_SCOPE);

/** Bytes in, bytes out: the whole export for a transport that has already framed the body. */
export function handleExportBytes(body: Buffer, enc: Encoding, transport: string, deps: ExportDeps, deadline = Infinity): Promise<{ body: Buffer; partial: boolean }> {
  // orb-learn's own span (a no-op unless self-telemetry is on); it never carries execution.* keys.
  return tracer.startActiveSpan('orb-learn export', { attributes: { 'orb.transport': transport, 'orb.encoding': enc, 'orb.request_bytes': body.length } }, (span) =>
    exportBytes(body, enc, transport, deps, deadline).then(
      (r) => {
        span.setAttribute('orb.partial_success', r.partial);
        span.end();
        return r;
      },
      (err: unknown) => {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        span.end();
        throw err;
      },
    ),
  );
}

async function exportBytes(body: Buffer, enc: Encoding, transport: string, deps: ExportDeps, deadline: number): Promise<{ body: Buffer; partial: boolean }> {
  const own = await deps.decode(body, enc, (deps.now ?? (() => new Date()))()).then((c) => commitConverted(c, transport, deps));
  if (!deps.forward) return { body: encodeResponse(own, enc), partial: own.partialSuccess !== undefined };
  // Committed first, forwarded second: a request we cannot take now (full queue) never reaches
  // the downstream, so the upstream's retry does not duplicate it in trace storage; and a retry
  // after a downstream failure is a no-op here (idempotent on task_id).
  const wire = enc === 'protobuf' ? body : Buffer.from(ExportTraceServiceRequest.encode(decodeJson(body) as never).finish());
  const downstream = await deps.forward.forward(wire, deadline);
  // Spans we failed to learn from still reached trace storage: only the downstream's rejections
  // are rejections; ours become a warning (rejected_spans 0 with a message, as OTLP allows).
  const messages = [downstream.errorMessage, own.partialSuccess?.errorMessage].filter((m) => m);
  const resp: ExportTraceResponse = messages.length ? { partialSuccess: { rejectedSpans: downstream.rejectedSpans, errorMessage: messages.join('; ') } } : {};
  return { body: encodeResponse(resp, enc), partial: resp.partialSuccess !== undefined };
}
