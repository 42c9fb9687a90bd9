// orb-learn demo: the whole loop in one command. Starts orb-learn on temporary ports (or uses a
// collector and a running orb-learn), emits a realistic mix of execution and feedback spans
// through the OpenTelemetry SDK, then prints the tier table and a recommendation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../config/config.js';
import { recordExecution, recordFeedback } from '@orb-learn/emitter';
import type { QueryResult } from '../../query/library.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { generateExecutions } from '../../synth/generate.js';
import { createLogger } from '../../telemetry/log.js';
import { fail } from '../common.js';
import { formatTable } from './query.js';

/** GET /v1/embeddings: how many stored executions have a vector from the active model. */
interface Coverage {
  modelId: string;
  executions: number;
  embedded: number;
  missing: number;
}

/**
 * Waits until orb-learn holds at least `expected` executions and every one has a vector for the
 * active model (a recommendation searches those vectors), or until `timeoutMs`; then the demo goes
 * on either way, with a warning when it gave up. `read` answers a reason instead of coverage while
 * coverage is unknown (embedding still loading its model, or off; orb-learn not answering).
 */
async function waitForVectors(read: () => Promise<Coverage | string>, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Coverage | string = 'no answer yet';
  for (;;) {
    last = await read().catch((err: Error) => `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`);
    if (typeof last !== 'string' && last.executions >= expected && last.missing <= 0) return;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const state =
    typeof last === 'string'
      ? last
      : `${last.executions} of ${expected} executions stored, ${last.missing} still without a ${last.modelId} vector`;
  process.stderr.write(`warning: gave up waiting for orb-learn after ${timeoutMs / 1000} s (${state}); the results below may be incomplete\n`);
}

async function query(server: RunningServer | null, base: string, name: 'tiers' | 'recommend', params: Record<string, string>): Promise<QueryResult> {
  if (server) return server.queries.run(name, params);
  const res = await fetch(`${base}/v1/query/${name}?${new URLSearchParams(params)}`);
  if (!res.ok) fail(`${name}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as QueryResult;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start orb-learn on temporary ports, emit executions and feedback through the OTel SDK, print tiers and a recommendation')
    .option('--executions <N>', 'how many executions to emit', '600')
    .option('--collector <URL>', 'emit to this collector (OTLP/HTTP base URL) instead of a temporary orb-learn')
    .option('--orb-learn <URL>', 'with --collector: the orb-learn HTTP API to query', 'http://127.0.0.1:4318')
    .option('--wait <SECONDS>', 'how long to wait for orb-learn to store and embed the executions before querying', '60')
    .action(async (opts: { executions: string; collector?: string; orbLearn: string; wait: string }) => {
      const n = Number(opts.executions);
      const waitMs = Number(opts.wait) * 1000;
      if (!Number.isInteger(n) || n <= 0) fail(`--executions: expected a positive whole number, got ${opts.executions}`);
      if (!Number.isFinite(waitMs) || waitMs < 0) fail(`--wait: expected seconds (0 or more), got ${opts.wait}`);
      const base = opts.orbLearn.replace(/\/+$/, '');
      let dir: string | null = null;
      let server: RunningServer | null = null;
      let exporter: SpanExporter;
      if (opts.collector) {
        exporter = new ProtoExporter({ url: `${opts.collector.replace(/\/+$/, '')}/v1/traces` });
      } else {
        dir = mkdtempSync(join(tmpdir(), 'orb-demo-'));
        const config = loadConfig({ flags: { db: join(dir, 'demo.duckdb'), grpc: '127.0.0.1:0', http: '127.0.0.1:0', snapshotInterval: 0, logLevel: 'warn' }, env: process.env });
        server = await startServer(config, createLogger('warn'));
        process.stdout.write(`orb-learn running: gRPC 127.0.0.1:${server.grpcPort}, HTTP 127.0.0.1:${server.httpPort}, db ${config.db}\n`);
        exporter = new GrpcExporter({ url: `http://127.0.0.1:${server.grpcPort}` });
      }
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'agent-orchestrator', 'deployment.environment': 'demo' }),
        spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 200, scheduledDelayMillis: 200 })],
      });
      const tracer = provider.getTracer('orb-learn-demo');
      let emitted = 0;
      let feedback = 0;
      for (const chunk of generateExecutions({ rows: n, days: 14, seed: 42, validate: 'none' })) {
        for (const row of chunk) {
          const { trace_id: _t, span_id: _s, service_name: _n, received_at: _r, metadata, ...record } = row;
          // What orb-learn fills from the span itself is not the producer's to send.
          const { resource: _res, span_name: _sn, ...own } = metadata;
          const span = tracer.startSpan(`agent.${row.task_type}`, { startTime: row.timestamp });
          recordExecution(span, { ...record, metadata: own });
          span.end(new Date(row.timestamp.getTime() + row.duration_seconds * 1000));
          emitted++;
          if (emitted % 7 === 0) {
            const f = tracer.startSpan('user.feedback');
            recordFeedback(f, { task_id: row.task_id, rating: row.success ? 4 + (emitted % 2) : 2, accepted: row.success, feedback_type: 'rating' });
            f.end();
            feedback++;
          }
        }
      }
      await provider.forceFlush();
      await provider.shutdown();
      process.stdout.write(`emitted ${emitted} execution spans and ${feedback} feedback spans through the OTel SDK\n`);
      // The collector delivers in batches, and orb-learn embeds after it commits: wait for both.
      if (server) {
        const e = await server.embedding(); // resolves once the model is loaded; null: embedding is off
        if (e) await waitForVectors(() => e.indexer.coverage(), emitted, waitMs);
      } else {
        process.stdout.write(`waiting for ${base} to store and embed them (up to ${waitMs / 1000} s)\n`);
        await waitForVectors(
          async () => {
            const res = await fetch(`${base}/v1/embeddings`, { signal: AbortSignal.timeout(5000) });
            // 503: embedding is not running yet (its model is loading) or at all.
            if (!res.ok) return `GET ${base}/v1/embeddings: HTTP ${res.status} ${(await res.text()).trim()}`;
            return (await res.json()) as Coverage;
          },
          emitted,
          waitMs,
        );
      }
      const tiers = await query(server, base, 'tiers', { days: '30' });
      process.stdout.write(`\nTier performance, last 30 days:\n${formatTable(tiers.rows)}`);
      const text = 'Refactor the authentication middleware to use JWT validation';
      const rec = await query(server, base, 'recommend', { text, min_similarity: '0.3' });
      process.stdout.write(`\nRecommendation for "${text}":\n`);
      for (const [k, v] of Object.entries(rec.answer ?? {})) process.stdout.write(`  ${k}: ${v}\n`);
      process.stdout.write(formatTable(rec.rows));
      for (const note of rec.notes) process.stdout.write(`note: ${note}\n`);
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
}
