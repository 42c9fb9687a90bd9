// npm run bench:ingest [-- --spans N --concurrency C --naive N] [-- --genai]
// Drives a real `orb-learn serve` process over OTLP/gRPC with execution spans (100 per request,
// ~20 attributes each), then writes the same records the review's naive way (one INSERT each).
// --genai sends GenAI-shaped runs instead: one invoke_agent span and three chat spans under it
// (token usage, models), 25 runs per request, no execution.* attribute; the runs are assembled
// after the settle wait (ORB_GENAI_SETTLE_MS, 500 here), and the run rate counts until the last
// run is stored.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { convertRequest } from '../src/convert/span-to-record.js';
import { EXECUTION_COLUMNS, executionCells } from '../src/store/rows.js';
import { migrate } from '../src/store/migrations.js';
import { decodeProtobuf } from '../src/receiver/codec.js';
import { encodeRequest, grpcClient, otlpRequest } from '../test/helpers/raw.js';
import { spawnServe } from '../test/helpers/process.js';
import { tempDir } from '../test/helpers/server.js';
import { fullExecution } from '../test/helpers/spans.js';

const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '200000' },
    concurrency: { type: 'string', default: '10' },
    naive: { type: 'string', default: '5000' },
    embed: { type: 'boolean', default: false },
    genai: { type: 'boolean', default: false },
  },
});
const SPANS = Number(values.spans);
const CONCURRENCY = Number(values.concurrency);
const NAIVE = Number(values.naive);
const PER_REQUEST = 100;
const TEMPLATE_TRACE = '5b8efff798038103d269b633813fc60c';

const CHAT_MODELS = ['gpt-4o-mini', 'gpt-4o', 'o4-mini'];

/** 25 runs: an agent span and three chat spans under it, as instrumentation-openai emits them. */
function genaiTemplate(): Buffer {
  const spans: Parameters<typeof otlpRequest>[0] = [];
  for (let run = 0; run < PER_REQUEST / 4; run++) {
    const agentId = (run * 4 + 1).toString(16).padStart(16, '0');
    const name = ['refactor', 'test', 'docs', 'fix'][run % 4]!;
    spans.push({
      traceId: TEMPLATE_TRACE,
      spanId: agentId,
      name: `invoke_agent ${name}-agent`,
      attrs: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.provider.name': 'openai',
        'gen_ai.agent.name': `${name}-agent`,
        'gen_ai.agent.id': `agent_${run}`,
        'gen_ai.agent.description': `Run ${run}: ${name} the payment webhook handler and its signature checks`,
        'gen_ai.request.model': 'gpt-4o',
      },
    });
    for (let c = 0; c < 3; c++) {
      const model = CHAT_MODELS[(run + c) % 3]!;
      spans.push({
        traceId: TEMPLATE_TRACE,
        spanId: (run * 4 + 2 + c).toString(16).padStart(16, '0'),
        parentSpanId: agentId,
        name: `chat ${model}`,
        attrs: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': model,
          'gen_ai.response.model': `${model}-2025-01-01`,
          'gen_ai.response.id': `chatcmpl-${run}-${c}`,
          'gen_ai.response.finish_reasons': 'stop',
          'gen_ai.usage.input_tokens': 1000 + 37 * run + 11 * c,
          'gen_ai.usage.output_tokens': 200 + 13 * run + 5 * c,
          'server.address': 'api.openai.com',
          'server.port': 443,
        },
      });
    }
  }
  return encodeRequest(otlpRequest(spans));
}

function template(): Buffer {
  if (values.genai) return genaiTemplate();
  const spans = Array.from({ length: PER_REQUEST }, (_, k) => ({
    attrs: fullExecution({ 'execution.task_type': ['refactor', 'test', 'docs', 'fix'][k % 4]! }) as Record<string, unknown>,
    traceId: TEMPLATE_TRACE,
    spanId: (k + 1).toString(16).padStart(16, '0'),
  }));
  return encodeRequest(otlpRequest(spans));
}

/** Offsets of the trace id in the encoded template, so each request gets fresh ids without re-encoding. */
function traceIdOffsets(buf: Buffer): number[] {
  const needle = Buffer.from(TEMPLATE_TRACE, 'hex');
  const out: number[] = [];
  for (let i = buf.indexOf(needle); i !== -1; i = buf.indexOf(needle, i + 1)) out.push(i);
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** utime + stime of a process, in seconds (Linux clock ticks are 100 Hz). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function driveServer(dir: string) {
  // With --embed the server embeds every execution off the ack path (the offline model).
  const srv = await spawnServe(['--db', join(dir, 'bench.duckdb')], { ...(values.embed ? { ORB_EMBED: 'true' } : {}), ...(values.genai ? { ORB_GENAI_SETTLE_MS: '500' } : {}) });
  const tpl = template();
  const offsets = traceIdOffsets(tpl);
  const requests = Math.ceil(SPANS / PER_REQUEST);
  const latencies: number[] = [];
  let next = 0;
  let acked = 0;
  let retries = 0;
  const client = grpcClient(srv.grpcAddress);
  const serverCpu0 = cpuSeconds(srv.child.pid!);
  const clientCpu0 = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) {
        next++;
        const body = Buffer.from(tpl);
        const trace = randomBytes(16);
        for (const o of offsets) trace.copy(body, o);
        for (;;) {
          const t0 = performance.now();
          const r = await client.export(body);
          if (r.error) {
            retries++;
            await new Promise((res) => setTimeout(res, 50));
            continue;
          }
          latencies.push(performance.now() - t0);
          acked += PER_REQUEST;
          break;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  client.close();
  let runSeconds = seconds;
  if (values.genai) {
    // Runs become executions after the settle wait: the run rate counts until the last is stored.
    const want = (requests * PER_REQUEST) / 4;
    for (;;) {
      const m = /^orb_genai_runs_total\{outcome="stored"\} ([0-9.e+-]+)$/m.exec(await (await fetch(`${srv.httpUrl}/metrics`)).text());
      if (Number(m?.[1] ?? 0) >= want) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    runSeconds = (performance.now() - started) / 1000;
  }
  const serverCpu = cpuSeconds(srv.child.pid!) - serverCpu0;
  const c = process.cpuUsage(clientCpu0);
  const clientCpu = (c.user + c.system) / 1e6;
  const rss = peakRssMiB(srv.child.pid!);
  const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
  const embedded = [...metrics.matchAll(/^orb_embeddings_total\{source="(model|cache)"\} ([0-9.e+-]+)$/gm)].reduce((n, m) => n + Number(m[2]), 0);
  if (values.embed) console.log(`embedding during the run: ${embedded} vectors written (${(embedded / seconds).toFixed(0)}/s), the rest waits in the backlog`);
  const metric = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  const groups = metric('orb_commit_batches_total');
  const commitMs = (metric('orb_commit_duration_seconds_sum') / groups) * 1000;
  const rowsPerGroup = metric('orb_commit_rows_total') / groups;
  if (values.embed) {
    // Embedding yields to ingest: how long until every execution has its vector once the load stops.
    const yielded = metric('orb_embedding_yield_seconds_total');
    const t0 = performance.now();
    for (;;) {
      const cov = (await (await fetch(`${srv.httpUrl}/v1/embeddings`)).json()) as { missing: number; executions: number };
      if (cov.missing === 0 || performance.now() - t0 > 300_000) {
        console.log(`embedding caught up ${((performance.now() - t0) / 1000).toFixed(1)} s after the load stopped (${cov.missing} of ${cov.executions} still missing); batches waited ${yielded.toFixed(1)} s for ingest`);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  srv.child.kill('SIGTERM');
  await srv.exited;
  latencies.sort((a, b) => a - b);
  return { acked, seconds, runSeconds, rate: acked / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), rss, retries, tpl, serverCpu, clientCpu, groups, commitMs, rowsPerGroup };
}

/** The review's store_execution: one INSERT per record, each its own transaction. */
async function naiveWriter(dir: string, tpl: Buffer) {
  const instance = await DuckDBInstance.create(join(dir, 'naive.duckdb'));
  const conn = await instance.connect();
  await migrate(conn);
  const rows = [];
  while (rows.length < NAIVE) {
    const body = Buffer.from(tpl);
    const trace = randomBytes(16);
    for (const o of traceIdOffsets(tpl)) trace.copy(body, o);
    rows.push(...convertRequest(decodeProtobuf(body), new Date()).executions);
  }
  const stmt = await conn.prepare(`INSERT INTO executions (${EXECUTION_COLUMNS.join(', ')}) VALUES (${EXECUTION_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`);
  const started = performance.now();
  for (const row of rows.slice(0, NAIVE)) {
    const cells = executionCells(row).map((c) => (c instanceof Date ? c.toISOString() : c));
    stmt.bind(cells as never);
    await stmt.run();
  }
  const seconds = (performance.now() - started) / 1000;
  conn.closeSync();
  instance.closeSync();
  return { rows: NAIVE, seconds, rate: NAIVE / seconds };
}

const dir = tempDir('orb-bench-');
try {
  const shape = values.genai ? 'GenAI spans (1 invoke_agent + 3 chat per run)' : 'execution spans';
  console.log(`orb-learn ingest benchmark: ${SPANS} ${shape}, ${PER_REQUEST}/request, concurrency ${CONCURRENCY}, embedding ${values.embed ? 'on' : 'off'}`);
  const s = await driveServer(dir);
  console.log(`server   : ${s.acked} spans acknowledged in ${s.seconds.toFixed(2)} s = ${Math.round(s.rate)} spans/s`);
  if (values.genai) {
    const runs = s.acked / 4;
    console.log(`runs     : ${runs} runs stored as executions ${s.runSeconds.toFixed(2)} s after the start (settle wait 0.5 s) = ${Math.round(runs / s.runSeconds)} runs/s, ${Math.round(s.acked / s.runSeconds)} spans/s end to end`);
  }
  console.log(`ack latency per 100-span request: p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms; retries ${s.retries}`);
  console.log(`group commit: ${s.groups} transactions, ${s.rowsPerGroup.toFixed(0)} rows each, ${s.commitMs.toFixed(1)} ms each on average`);
  console.log(`server peak RSS: ${s.rss.toFixed(0)} MiB`);
  console.log(`CPU over the run: server ${(s.serverCpu / s.seconds).toFixed(2)} cores, load client ${(s.clientCpu / s.seconds).toFixed(2)} cores (of 2)`);
  if (!values.genai && NAIVE > 0) {
    const n = await naiveWriter(dir, s.tpl);
    console.log(`naive    : ${n.rows} records, one INSERT each, in ${n.seconds.toFixed(2)} s = ${Math.round(n.rate)} records/s`);
    console.log(`ratio    : ${(s.rate / n.rate).toFixed(1)}× the naive writer (end to end over gRPC vs. storage alone)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
