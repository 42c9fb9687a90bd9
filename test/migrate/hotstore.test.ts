import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ExecutionRow } from '../../src/convert/record.js';
import { uuidV5 } from '../../src/convert/task-id.js';
import { conversationToRow, HOTSTORE_SERVICE, migrateHotStore, parseTimestamp, type HotStoreReport } from '../../src/migrate/hotstore.js';
import { Store } from '../../src/store/db.js';
import { generateExecutions } from '../../src/synth/generate.js';
import { runCli } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';

const NOW = Date.UTC(2026, 10, 1);
const FULL_ID = 'a1b2c3d4-0000-4000-8000-000000000001';
const UPPER_ID = 'A1B2C3D4-0000-4000-8000-0000000000AB';

interface FixtureRow {
  id: string;
  created_at: string | null;
  content: string | null;
  metadata: Record<string, unknown> | null;
}

/** A generated execution as HotStore would have kept it: every field in metadata, JSON-typed. */
function asConversation(r: ExecutionRow, i: number): FixtureRow {
  const { trace_id: _t, span_id: _s, service_name: _n, received_at: _r, metadata, ...fields } = r;
  return {
    id: `conv-gen-${i}`,
    created_at: new Date(r.timestamp.getTime() + 5000).toISOString(),
    content: `chat text ${i}`,
    metadata: { type: 'execution', ...fields, timestamp: r.timestamp.toISOString(), metadata, session_id: `s-${i % 17}` },
  };
}

const base = {
  type: 'execution',
  task_type: 'refactor',
  task_description: 'Refactor the auth middleware',
  repo: 'mahavishnu',
  model_tier: 'medium',
  pool_type: 'session-buddy',
  routing_confidence: 0.8,
  success: true,
  duration_seconds: 12.5,
  cost_estimate: 0.003,
  actual_cost: 0.0034,
};

/** Hand-made conversations: one of each case. */
const HAND: FixtureRow[] = [
  {
    id: 'conv-full',
    created_at: '2025-10-01T09:00:00Z',
    content: 'the conversation text',
    metadata: {
      ...base,
      task_id: FULL_ID,
      timestamp: '2025-10-01T08:59:30.123456',
      file_count: 7,
      estimated_tokens: 4200,
      swarm_topology: 'mesh',
      predicted_success_probability: 0.7,
      complexity_score: 64,
      quality_score: 91,
      error_type: null,
      user_accepted: true,
      user_rating: 5,
      peak_memory_mb: 512.5,
      cpu_time_seconds: 8.25,
      solution_summary: 'Extracted JWT validation into middleware',
      agent: 'claude',
      tags: ['auth', 'jwt'],
      metadata: { pr: 42, reviewer: 'les' },
    },
  },
  // No task_id (→ v5 of the conversation id), no timestamp (→ created_at), no description (→ content).
  { id: 'conv-minimal', created_at: '2025-10-02T10:00:00Z', content: 'Write tests for the parser', metadata: { ...base, task_description: undefined } },
  { id: 'conv-nonuuid', created_at: '2025-10-03T10:00:00Z', content: null, metadata: { ...base, task_id: 'task-42', timestamp: 1759485600 } },
  { id: 'conv-upper', created_at: '2025-10-04T10:00:00Z', content: null, metadata: { ...base, task_id: UPPER_ID, timestamp: '2025-10-04 10:00:00' } },
  // The same task as conv-full, a second time: skipped, first write wins.
  { id: 'conv-dup', created_at: '2025-10-05T10:00:00Z', content: null, metadata: { ...base, task_id: FULL_ID, repo: 'other' } },
  // Invalid ones.
  { id: 'conv-bad-range', created_at: '2025-10-06T10:00:00Z', content: null, metadata: { ...base, repo: undefined, routing_confidence: 1.5 } },
  { id: 'conv-bad-enum', created_at: '2025-10-06T11:00:00Z', content: null, metadata: { ...base, error_type: 'explode', quality_score: 101 } },
  { id: 'conv-bad-time', created_at: '2025-10-06T12:00:00Z', content: null, metadata: { ...base, timestamp: 'yesterday' } },
  { id: 'conv-bad-type', created_at: '2025-10-06T13:00:00Z', content: null, metadata: { ...base, success: 'yes', file_count: 2.5 } },
  { id: 'conv-bad-missing', created_at: null, content: null, metadata: { type: 'execution' } },
  // Not executions.
  { id: 'conv-chat', created_at: '2025-10-07T10:00:00Z', content: 'hello', metadata: { type: 'chat', task_id: FULL_ID } },
  { id: 'conv-untyped', created_at: '2025-10-07T11:00:00Z', content: 'hi', metadata: { topic: 'x' } },
  { id: 'conv-null', created_at: '2025-10-07T12:00:00Z', content: 'hey', metadata: null },
];
const HAND_VALID = ['conv-full', 'conv-minimal', 'conv-nonuuid', 'conv-upper'];
const HAND_REJECTED = ['conv-bad-range', 'conv-bad-enum', 'conv-bad-time', 'conv-bad-type', 'conv-bad-missing'];
const HAND_IGNORED = ['conv-chat', 'conv-untyped', 'conv-null'];

async function writeHotStore(path: string, rows: FixtureRow[], metadataType = 'JSON'): Promise<void> {
  const jsonl = `${path}.jsonl`;
  writeFileSync(jsonl, rows.map((r) => JSON.stringify({ ...r, metadata: r.metadata === null ? null : JSON.stringify(r.metadata) })).join('\n'));
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  await conn.run(`CREATE TABLE conversations (id VARCHAR PRIMARY KEY, created_at TIMESTAMP, content VARCHAR, metadata ${metadataType})`);
  await conn.run(
    `INSERT INTO conversations SELECT id, created_at::TIMESTAMP, content, metadata::${metadataType}
     FROM read_json('${jsonl}', format = 'newline_delimited', columns = {id: 'VARCHAR', created_at: 'VARCHAR', content: 'VARCHAR', metadata: 'VARCHAR'})`,
  );
  conn.closeSync();
  instance.closeSync();
  rmSync(jsonl);
}

describe('HotStore → executions: the mapping', () => {
  const at = new Date(NOW);
  const conv = (id: string) => {
    const r = HAND.find((h) => h.id === id)!;
    return { id: r.id, created_at: r.created_at ? new Date(r.created_at) : null, content: r.content, metadata: JSON.parse(JSON.stringify(r.metadata)) as Record<string, unknown> };
  };

  it('maps every field of a full record; unknown keys and the nested metadata go to metadata', () => {
    const out = conversationToRow(conv('conv-full'), at);
    assert.ok('row' in out, JSON.stringify(out));
    const r = out.row;
    assert.equal(r.task_id, FULL_ID);
    assert.deepEqual(r.timestamp, new Date('2025-10-01T08:59:30.123Z'), 'naive ISO is UTC, microseconds cut to ms');
    assert.deepEqual(
      [r.file_count, r.estimated_tokens, r.swarm_topology, r.predicted_success_probability, r.complexity_score, r.quality_score, r.user_accepted, r.user_rating, r.peak_memory_mb, r.cpu_time_seconds],
      [7, 4200, 'mesh', 0.7, 64, 91, true, 5, 512.5, 8.25],
    );
    assert.equal(r.solution_summary, 'Extracted JWT validation into middleware');
    assert.deepEqual(r.metadata, {
      agent: 'claude',
      tags: ['auth', 'jwt'],
      pr: 42,
      reviewer: 'les',
      hotstore: { conversation_id: 'conv-full', created_at: '2025-10-01T09:00:00.000Z', content: 'the conversation text' },
    });
    assert.deepEqual([r.trace_id, r.span_id, r.service_name, r.received_at], [null, null, HOTSTORE_SERVICE, at]);
  });

  it('falls back to created_at, content and a v5 id of the conversation; keeps a non-UUID task_id', () => {
    const m = conversationToRow(conv('conv-minimal'), at);
    assert.ok('row' in m);
    assert.equal(m.row.task_id, uuidV5('hotstore/conversation/conv-minimal'));
    assert.deepEqual(m.row.timestamp, new Date('2025-10-02T10:00:00Z'));
    assert.equal(m.row.task_description, 'Write tests for the parser');
    assert.equal((m.row.metadata.hotstore as Record<string, unknown>).content, undefined, 'content used, not kept twice');
    const n = conversationToRow(conv('conv-nonuuid'), at);
    assert.ok('row' in n);
    assert.equal(n.row.task_id, uuidV5('hotstore/task/task-42'));
    assert.equal(n.row.metadata.original_task_id, 'task-42');
    assert.deepEqual(n.row.timestamp, new Date(1759485600 * 1000), 'epoch seconds');
    const u = conversationToRow(conv('conv-upper'), at);
    assert.ok('row' in u);
    assert.equal(u.row.task_id, UPPER_ID.toLowerCase());
  });

  it('names every invalid field with the rule it breaks', () => {
    const reasons = (id: string) => {
      const out = conversationToRow(conv(id), at);
      assert.ok('reasons' in out, id);
      return out.reasons;
    };
    assert.deepEqual(reasons('conv-bad-range'), ['metadata.repo: required field is missing', 'metadata.routing_confidence: must be ≤ 1, got 1.5']);
    assert.deepEqual(reasons('conv-bad-enum'), [
      'metadata.quality_score: must be ≤ 100, got 101',
      'metadata.error_type: must be one of timeout, quality_gate, crash, validation, unknown, got "explode"',
    ]);
    assert.deepEqual(reasons('conv-bad-time'), ['metadata.timestamp: not a date or time: "yesterday"']);
    assert.deepEqual(reasons('conv-bad-type'), ['metadata.file_count: expected int, got number 2.5', 'metadata.success: expected boolean, got string "yes"']);
    const missing = reasons('conv-bad-missing');
    assert.ok(missing.includes('metadata.timestamp: required field is missing (and created_at is null)'));
    for (const f of ['task_type', 'task_description', 'repo', 'model_tier', 'pool_type', 'success', 'duration_seconds', 'actual_cost']) {
      assert.ok(missing.includes(`metadata.${f}: required field is missing`), f);
    }
    // Optional since migration 011 (runs learned from GenAI spans have neither).
    for (const f of ['routing_confidence', 'cost_estimate']) assert.ok(!missing.some((m) => m.startsWith(`metadata.${f}:`)), f);
  });

  it('parses timestamps', () => {
    assert.deepEqual(parseTimestamp('2025-10-01T08:59:30+02:00'), new Date('2025-10-01T06:59:30Z'));
    assert.deepEqual(parseTimestamp('2025-10-01'), new Date('2025-10-01T00:00:00Z'));
    assert.deepEqual(parseTimestamp(1759485600123), new Date(1759485600123));
    assert.equal(parseTimestamp('soon'), null);
    assert.equal(parseTimestamp(true), null);
  });
});

describe('HotStore → executions: migrateHotStore on real files', () => {
  let dir: string;
  let hotstore: string;
  let generated: ExecutionRow[];
  let store: Store;
  let conn: DuckDBConnection;
  let first: HotStoreReport;
  const all = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  const scalar = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRows()[0]![0]);

  before(async () => {
    dir = tempDir('orb-hotstore-');
    hotstore = join(dir, 'hotstore.duckdb');
    generated = [...generateExecutions({ rows: 2500, days: 30, seed: 11, now: NOW })].flat();
    const rows = [...HAND.slice(0, 5), ...generated.map(asConversation), ...HAND.slice(5)];
    await writeHotStore(hotstore, rows);
    store = await Store.open({ path: join(dir, 'learning.duckdb') });
    conn = await store.connect();
  });
  after(async () => {
    conn.closeSync();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates every valid record, rejects the invalid ones by name, ignores the rest; counts reconcile', async () => {
    const progress: number[] = [];
    first = await migrateHotStore(store, { from: hotstore, chunkSize: 400, onProgress: (p) => progress.push(p.done) });
    const valid = HAND_VALID.length + generated.length;
    assert.equal(first.scanned, HAND.length + generated.length);
    assert.equal(first.executionRows, valid + 1 + HAND_REJECTED.length);
    assert.deepEqual([first.migrated, first.skipped, first.rejected, first.ignored, first.unreadable], [valid, 1, HAND_REJECTED.length, HAND_IGNORED.length, 0]);
    assert.equal(first.migrated + first.skipped + first.rejected, first.executionRows);
    assert.equal(first.scanned, first.executionRows + first.ignored + first.unreadable);
    assert.deepEqual(first.rejects.map((r) => r.conversation_id).sort(), [...HAND_REJECTED].sort());
    assert.ok(first.rejects.every((r) => r.reasons.length > 0 && r.reasons.every((x) => x.startsWith('metadata.'))));
    assert.ok(progress.length >= 7 && progress.at(-1) === first.executionRows, 'progress in chunks');

    assert.equal(await scalar('SELECT count(*) FROM executions'), valid);
    assert.equal(await scalar(`SELECT count(*) FROM executions WHERE service_name = '${HOTSTORE_SERVICE}' AND trace_id IS NULL AND span_id IS NULL`), valid);
    const full = (await all(`SELECT * FROM executions WHERE task_id = '${FULL_ID}'`))[0]!;
    assert.equal(full.repo, 'mahavishnu', 'the first of two conversations with one task_id wins');
    assert.equal(full.user_rating, 5);
    assert.equal(JSON.parse(String(full.metadata)).hotstore.conversation_id, 'conv-full');
    // Summaries were kept by the writer.
    assert.equal(await scalar('SELECT sum(total_executions) FROM tier_performance_mv'), valid);
  });

  it('every generated record arrived with every field unchanged', async () => {
    const got = new Map((await all(`SELECT * FROM executions WHERE task_id IN (SELECT task_id FROM executions WHERE json_extract_string(metadata, '$.hotstore.conversation_id') LIKE 'conv-gen-%')`)).map((r) => [String(r.task_id), r]));
    assert.equal(got.size, generated.length);
    for (const [i, g] of generated.entries()) {
      const r = got.get(g.task_id)!;
      assert.ok(r, g.task_id);
      for (const k of Object.keys(g) as (keyof ExecutionRow)[]) {
        if (['trace_id', 'span_id', 'service_name', 'received_at', 'metadata'].includes(k)) continue;
        const want = g[k];
        const have = r[k];
        if (k === 'estimated_tokens') assert.equal(Number(have), want, `${i} ${k}`);
        else assert.deepEqual(have, want, `${i} ${k}`);
      }
      const meta = JSON.parse(String(r.metadata)) as Record<string, unknown>;
      assert.deepEqual({ ...meta, hotstore: undefined, session_id: undefined }, { ...g.metadata, hotstore: undefined, session_id: undefined });
      assert.equal(meta.session_id, `s-${i % 17}`, 'unknown metadata keys are kept');
    }
  });

  it('a rerun migrates nothing and skips every valid record: no loss, no duplicates', async () => {
    const before = await scalar('SELECT count(*) FROM executions');
    const summary = await all('SELECT * FROM tier_performance_mv ORDER BY ALL');
    const again = await migrateHotStore(store, { from: hotstore, chunkSize: 1000 });
    assert.deepEqual([again.migrated, again.skipped, again.rejected], [0, first.migrated + first.skipped, first.rejected]);
    assert.equal(again.migrated + again.skipped + again.rejected, again.executionRows);
    assert.equal(await scalar('SELECT count(*) FROM executions'), before);
    assert.equal(await scalar('SELECT count(DISTINCT task_id) FROM executions'), before);
    assert.deepEqual(await all('SELECT * FROM tier_performance_mv ORDER BY ALL'), summary, 'summaries unchanged by a rerun');
  });

  it('lists metadata that is not JSON apart, instead of dropping it', async () => {
    const path = join(dir, 'hotstore-text.duckdb');
    await writeHotStore(path, HAND.slice(0, 2), 'VARCHAR');
    const instance = await DuckDBInstance.create(path);
    const c = await instance.connect();
    await c.run(`INSERT INTO conversations VALUES ('conv-broken', TIMESTAMP '2025-10-09', NULL, '{"type": "execution", "repo": ')`);
    c.closeSync();
    instance.closeSync();
    const r = await migrateHotStore(store, { from: path });
    assert.deepEqual([r.scanned, r.executionRows, r.unreadable, r.skipped], [3, 2, 1, 2]);
    assert.equal(r.unreadableRows[0]!.conversation_id, 'conv-broken');
    assert.match(r.unreadableRows[0]!.reason, /not valid JSON/);
  });
});

describe('orb-learn migrate hotstore (CLI)', () => {
  it('migrates, writes the rejects as JSON lines, and a second run skips everything', async () => {
    const dir = tempDir('orb-hotstore-cli-');
    try {
      const hotstore = join(dir, 'hotstore.duckdb');
      await writeHotStore(hotstore, HAND);
      const db = join(dir, 'learning.duckdb');
      const rejects = join(dir, 'rejects.jsonl');
      const res = await runCli(['migrate', 'hotstore', '--from', hotstore, '--db', db, '--json', '--rejects', rejects]);
      assert.equal(res.code, 0, res.stderr);
      const rep = JSON.parse(res.stdout) as HotStoreReport;
      assert.deepEqual([rep.migrated, rep.skipped, rep.rejected, rep.ignored], [HAND_VALID.length, 1, HAND_REJECTED.length, HAND_IGNORED.length]);
      const lines = readFileSync(rejects, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; conversation_id: string; reasons: string[] });
      assert.deepEqual(lines.map((l) => l.conversation_id).sort(), [...HAND_REJECTED].sort());
      assert.ok(lines.find((l) => l.conversation_id === 'conv-bad-range')!.reasons.includes('metadata.routing_confidence: must be ≤ 1, got 1.5'));

      const text = await runCli(['migrate', 'hotstore', '--from', hotstore, '--db', db]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`0 migrated \\(new\\), ${HAND_VALID.length + 1} skipped \\(already present\\), ${HAND_REJECTED.length} rejected`));
      assert.match(text.stdout, /rejected conversation conv-bad-time: metadata\.timestamp: not a date or time: "yesterday"/);

      const missing = await runCli(['migrate', 'hotstore', '--from', join(dir, 'nope.duckdb'), '--db', db]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
