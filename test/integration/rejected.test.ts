// "My spans don't show up": a rejected span is logged at info with its reason (rate-limited), and
// listed, newest first with its reason, by `orb-learn query rejected` and GET /v1/query/rejected.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { RejectionLog, type LoggedRejection } from '../../src/telemetry/rejection-log.js';
import { runCli, spawnServe } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';
import { exportSpans, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';

describe('rejected spans, seen by the producer', () => {
  it('logs each reason at info up to the rate limit, then one summary; the rejected query lists them all', async () => {
    const dir = tempDir('orb-rejected-');
    const srv = await spawnServe(['--db', join(dir, 'rejected.duckdb')]);
    try {
      const exporter = makeExporter('http-proto', { grpcUrl: '', httpUrl: srv.httpUrl });
      const bad = Array.from({ length: 13 }, (_, i) => ({ name: `agent.bad${i}`, attributes: minimalExecution({ 'execution.routing_confidence': 1.5 }) }));
      const spans = makeSpans([...bad, { name: 'agent.typo', attributes: minimalExecution({ 'execution.repo': '' }) }, { name: 'agent.good', attributes: minimalExecution() }], { 'service.name': 'producer-x' });
      const r = await exportSpans(exporter, spans);
      assert.equal(r.code, 0, 'the export succeeds (partial success): the producer is not told to retry');
      await exporter.shutdown();

      const res = await fetch(`${srv.httpUrl}/v1/query/rejected?service=producer-x&limit=5`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { rows: { reason: string; span_name: string; service_name: string; attributes: string }[]; answer: { rejected: number; most_common: string } };
      assert.equal(body.answer.rejected, 14);
      assert.equal(body.rows.length, 5, 'limit');
      assert.match(body.answer.most_common, /^execution\.routing_confidence: .*\(13\); execution\.repo: .*\(1\)$/);
      assert.ok(body.rows.every((row) => row.service_name === 'producer-x' && row.reason.length > 0));
      assert.ok(body.rows.some((row) => JSON.parse(row.attributes)['execution.routing_confidence'] === 1.5), 'the span is kept whole');
      const other = (await (await fetch(`${srv.httpUrl}/v1/query/rejected?service=someone-else`)).json()) as { rows: unknown[]; notes: string[] };
      assert.deepEqual(other.rows, []);
      assert.match(other.notes[0]!, /no span was rejected .* not an execution span .* or never arrived/);

      const viaCli = await runCli(['query', 'rejected', '--server', srv.httpUrl, '--days', '1']);
      assert.equal(viaCli.code, 0, viaCli.stderr);
      assert.match(viaCli.stdout, /^rejected: 14$/m);
      assert.match(viaCli.stdout, /received_at\s+service_name\s+span_name\s+trace_id\s+span_id\s+reason/);
      assert.match(viaCli.stdout, /producer-x\s+agent\.\w+/);
    } finally {
      srv.child.kill('SIGTERM');
      await srv.exited;
      rmSync(dir, { recursive: true, force: true });
    }
    const lines = srv
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string; span_name?: string; service_name?: string; suppressed?: number; reasons?: Record<string, number> });
    const each = lines.filter((l) => l.msg.startsWith('span rejected'));
    assert.equal(each.length, 10, 'ten lines in the window');
    assert.ok(each.every((l) => l.level === 30 && l.service_name === 'producer-x' && /^execution\.(routing_confidence|repo): /.test(l.reason!)));
    const summary = lines.filter((l) => l.suppressed !== undefined);
    assert.equal(summary.length, 1, 'one summary, written at the latest when the server stops');
    assert.equal(summary[0]!.suppressed, 4);
    assert.equal(Object.values(summary[0]!.reasons!).reduce((a, b) => a + b, 0), 4);
  });
});

describe('RejectionLog (rate limit)', () => {
  const rejection = (reason: string): LoggedRejection => ({ rejected_id: 'r', trace_id: null, span_id: null, span_name: 's', service_name: 'svc', reason });

  it('logs perWindow lines a window, summarises the rest when the window ends, and starts again', () => {
    const out: { msg: string; suppressed?: number; reasons?: Record<string, number> }[] = [];
    const sink = new Writable({ write: (chunk, _e, cb) => (out.push(JSON.parse(String(chunk))), cb()) });
    let now = 0;
    const log = new RejectionLog(pino({ level: 'info' }, sink), { perWindow: 2, windowMs: 1000, now: () => now });
    log.note([rejection('a'), rejection('a'), rejection('b'), rejection('a'), rejection('b'), rejection('b')]);
    assert.equal(out.length, 2);
    now = 1500;
    log.note([rejection('c')]);
    assert.equal(out.length, 4, 'the summary of the last window, then the new window’s first line');
    assert.deepEqual([out[2]!.suppressed, out[2]!.reasons], [4, { b: 3, a: 1 }]);
    assert.match(out[3]!.msg, /^span rejected/);
    log.flush();
    assert.equal(out.length, 4, 'nothing suppressed: no summary');
  });
});
