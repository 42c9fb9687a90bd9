import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { ROW_FIELDS, type FieldKind } from '../../src/convert/record.js';
import { FEEDBACK_COLUMNS, REJECTED_COLUMNS } from '../../src/store/rows.js';
import { EMBEDDING_COLUMNS } from '../../src/embed/indexer.js';
import { loadMigrations, migrate, schemaVersion } from '../../src/store/migrations.js';
import { tempDir } from '../helpers/server.js';

// Which SQL types may hold each zod field kind.
const SQL_TYPES: Record<FieldKind, string[]> = {
  uuid: ['UUID'],
  timestamp: ['TIMESTAMP'],
  string: ['VARCHAR'],
  enum: ['VARCHAR'],
  int: ['INTEGER', 'BIGINT'],
  double: ['DOUBLE'],
  bool: ['BOOLEAN'],
  json: ['JSON'],
};

describe('SQL schema', () => {
  let dir: string;
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;

  before(async () => {
    dir = tempDir();
    instance = await DuckDBInstance.create(join(dir, 'schema.duckdb'));
    conn = await instance.connect();
    await migrate(conn);
  });
  after(() => {
    conn.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  async function columns(table: string) {
    const r = await conn.runAndReadAll(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    return r.getRowObjectsJS() as { column_name: string; data_type: string; is_nullable: string }[];
  }

  it('executions has exactly the zod ExecutionRow fields, in order, with matching types and nullability', async () => {
    const cols = await columns('executions');
    assert.deepEqual(
      cols.map((c) => c.column_name),
      ROW_FIELDS.map((f) => f.name),
    );
    for (const f of ROW_FIELDS) {
      const c = cols.find((x) => x.column_name === f.name)!;
      assert.ok(SQL_TYPES[f.kind].includes(c.data_type), `${f.name}: zod ${f.kind} vs SQL ${c.data_type}`);
      assert.equal(c.is_nullable === 'NO', f.required, `${f.name}: NOT NULL must match zod required`);
    }
  });

  it('execution_embeddings has the columns the indexer fills, in order', async () => {
    assert.deepEqual((await columns('execution_embeddings')).map((c) => c.column_name), [...EMBEDDING_COLUMNS]);
  });

  it('rejected_spans has the columns the writer fills', async () => {
    assert.deepEqual((await columns('rejected_spans')).map((c) => c.column_name), [...REJECTED_COLUMNS]);
  });

  it("has the review's feedback, solutions and quality_policies tables", async () => {
    const feedback = (await columns('feedback')).map((c) => c.column_name);
    for (const c of ['feedback_id', 'task_id', 'timestamp', 'feedback_type', 'rating', 'comment', 'user_id']) assert.ok(feedback.includes(c), `feedback.${c}`);
    assert.deepEqual(feedback, [...FEEDBACK_COLUMNS], 'the writer fills every feedback column, in table order (the appender writes by position)');
    const solutions = (await columns('solutions')).map((c) => c.column_name);
    for (const c of ['pattern_id', 'extracted_at', 'task_context', 'solution_summary', 'success_rate', 'usage_count', 'repos_used_in', 'embedding']) assert.ok(solutions.includes(c), `solutions.${c}`);
    assert.deepEqual((await columns('quality_policies')).map((c) => c.column_name), ['policy_id', 'repo', 'project_maturity', 'coverage_threshold', 'strictness_level', 'last_adjusted', 'adjustment_reason']);
  });

  it('applies migrations once and records the version', async () => {
    const latest = loadMigrations().at(-1)!.version;
    assert.equal(await schemaVersion(conn), latest);
    assert.deepEqual(await migrate(conn), [], 'a second start applies nothing');
    const r = await conn.runAndReadAll('SELECT count(*)::INTEGER FROM schema_migrations');
    assert.equal(r.getRows()[0]![0], loadMigrations().length);
  });
});
