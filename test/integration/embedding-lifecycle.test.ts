import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readFile } from '../helpers/db.js';
import { spawnServe, type ServeProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';
import { exportOk, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';
import { writeTinyModel } from '../helpers/tiny-model.js';

async function waitCovered(srv: ServeProcess): Promise<{ modelId: string; executions: number; embedded: number; missing: number }> {
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`${srv.httpUrl}/v1/embeddings`).catch(() => null);
    if (res?.ok) {
      const c = (await res.json()) as { modelId: string; executions: number; embedded: number; missing: number };
      if (c.missing === 0 && c.executions > 0) return c;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('embedding never caught up');
}

describe('embeddings across crashes and model changes (real processes)', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('after kill -9 during embedding, a restart gives every execution exactly one vector; a new model gets its own', async () => {
    const db = join(dir, 'e.duckdb');
    const modelA = writeTinyModel(join(dir, 'model-a'), { seed: 1 });
    const modelB = writeTinyModel(join(dir, 'model-b'), { seed: 2 });
    const first = await spawnServe(['--db', db, '--embed-batch-size', '1'], { ORB_EMBED: 'true', ORB_MODEL_DIR: modelA });
    const exporter = makeExporter('grpc', { grpcUrl: `http://${first.grpcAddress}`, httpUrl: first.httpUrl });
    for (let i = 0; i < 6; i++) await exportOk(exporter, makeSpans(Array.from({ length: 100 }, (_, k) => ({ attributes: minimalExecution({ 'execution.task_description': `refactor auth ${i} ${k}` }) }))));
    await exporter.shutdown();
    first.child.kill('SIGKILL');
    await first.exited;
    const partial = Number((await readFile(db, 'SELECT count(*) FROM execution_embeddings'))[0]![0]);
    assert.ok(partial < 600, `the kill landed while embedding was under way (${partial} of 600 embedded)`);

    const again = await spawnServe(['--db', db], { ORB_EMBED: 'true', ORB_MODEL_DIR: modelA });
    const a = await waitCovered(again);
    assert.equal(a.executions, 600);
    again.child.kill('SIGTERM');
    await again.exited;
    const [rows, distinct, models] = ((await readFile(db, 'SELECT count(*), count(DISTINCT task_id), count(DISTINCT model_id) FROM execution_embeddings')) as number[][])[0]!;
    assert.deepEqual([Number(rows), Number(distinct), Number(models)], [600, 600, 1], 'exactly one vector per execution');

    const switched = await spawnServe(['--db', db], { ORB_EMBED: 'true', ORB_MODEL_DIR: modelB });
    const b = await waitCovered(switched);
    assert.notEqual(b.modelId, a.modelId, 'a changed model has a new id');
    const sim = await fetch(`${switched.httpUrl}/v1/query/similar?text=refactor%20auth&threshold=-1&limit=3`);
    assert.equal(sim.status, 200);
    assert.match(((await sim.json()) as { notes: string[] }).notes[0]!, new RegExp(`model ${b.modelId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    switched.child.kill('SIGTERM');
    await switched.exited;
    const perModel = (await readFile(db, 'SELECT model_id, count(*) FROM execution_embeddings GROUP BY model_id ORDER BY 1')) as [string, bigint][];
    assert.deepEqual(perModel.map(([, n]) => Number(n)), [600, 600], 'each model has its own full set; queries use the active one');
  });
});
