// The per-signal handler: convert, hand on, count, answer. Shared by gRPC and HTTP.
import type { ConvertedRequest, RejectedSpan } from '../convert/span-to-record.js';
import type { ExportTraceResponse } from '../convert/wire-types.js';
import type { BatchConsumer } from '../pipeline/consumer.js';
import type { IngestMetrics } from '../telemetry/metrics.js';
import { encodeResponse, type Encoding } from './codec.js';
import type { Decoder } from './decode.js';

export interface ExportDeps {
  consumer: BatchConsumer;
  metrics: IngestMetrics;
  decode: Decoder;
  now?: () => Date;
}

const MAX_REASONS = 3;

function partialMessage(rejected: RejectedSpan[], total: number): string {
  const first = rejected
    .slice(0, MAX_REASONS)
    .map((r) => `span ${r.span_id ?? '?'}${r.span_name ? ` (${r.span_name})` : ''}: ${r.reason}`);
  const more = rejected.length > MAX_REASONS ? `; and ${rejected.length - MAX_REASONS} more` : '';
  return `${rejected.length} of ${total} spans rejected (kept in rejected_spans): ${first.join(' | ')}${more}`;
}

async function commitConverted(c: ConvertedRequest, transport: string, deps: ExportDeps): Promise<ExportTraceResponse> {
  deps.metrics.spansReceived.inc({ transport }, c.total);
  deps.metrics.spansNonExecution.inc(c.nonExecution);
  if (c.rows.length === 0 && c.rejected.length === 0) return {};
  await deps.consumer.consume({ executions: c.rows, rejected: c.rejected });
  deps.metrics.spansAccepted.inc(c.rows.length);
  deps.metrics.spansRejected.inc(c.rejected.length);
  if (c.rejected.length === 0) return {};
  return { partialSuccess: { rejectedSpans: c.rejected.length, errorMessage: partialMessage(c.rejected, c.total) } };
}

/** Bytes in, bytes out: the whole export for a transport that has already framed the body. */
export async function handleExportBytes(
  body: Buffer,
  enc: Encoding,
  transport: string,
  deps: ExportDeps,
): Promise<{ body: Buffer; partial: boolean }> {
  const c = await deps.decode(body, enc, (deps.now ?? (() => new Date()))());
  const resp = await commitConverted(c, transport, deps);
  return { body: encodeResponse(resp, enc), partial: resp.partialSuccess !== undefined };
}
