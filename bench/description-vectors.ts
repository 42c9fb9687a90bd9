// Vectors per distinct task (task type + description, what the server embeds by default) for a
// synth database (synth repeats a few thousand): embedding row by row would take hours at 1M.
// Each row gets its task's vector, as int8 with its scale, under the default recipe's vector id,
// as the server's content-hash cache would give them.
import { LIST, TINYINT } from '@duckdb/node-api';
import type { OnnxEmbedder } from '../src/embed/embedder.js';
import { taskContent, vectorModelId } from '../src/embed/content.js';
import { registerModel } from '../src/embed/indexer.js';
import { quantize } from '../src/embed/quantize.js';
import type { Store } from '../src/store/db.js';
import { sqlString } from '../src/store/sql.js';

const LIST_TINYINT = LIST(TINYINT);

/** Returns how many distinct tasks were embedded. */
export async function addDescriptionVectors(store: Store, embedder: OnnxEmbedder, source: string): Promise<number> {
  const conn = await store.connect();
  try {
    const tasks = (await conn.runAndReadAll('SELECT DISTINCT task_type, task_description FROM executions')).getRows().map((r) => ({ task_type: String(r[0]), task_description: String(r[1]) }));
    const vectorId = vectorModelId(embedder.modelId);
    await registerModel(conn, vectorId, embedder.dimension, source);
    await conn.run('CREATE TEMP TABLE desc_vectors (task_type VARCHAR, task_description VARCHAR, scale FLOAT, embedding TINYINT[])');
    for (let i = 0; i < tasks.length; i += 64) {
      const batch = tasks.slice(i, i + 64);
      const { vectors } = await embedder.embed(batch.map(taskContent));
      const app = await conn.createAppender('desc_vectors', 'main', 'temp');
      for (let k = 0; k < batch.length; k++) {
        const q = quantize(vectors[k]!);
        app.appendVarchar(batch[k]!.task_type);
        app.appendVarchar(batch[k]!.task_description);
        app.appendFloat(q.scale);
        app.appendList(Array.from(q.values), LIST_TINYINT);
        app.endRow();
      }
      app.closeSync();
    }
    await conn.run(`INSERT INTO execution_embeddings SELECT e.task_id, ${sqlString(vectorId)}, md5(e.task_type || ': ' || e.task_description)[:32], d.scale, d.embedding, now()
      FROM executions e JOIN desc_vectors d USING (task_type, task_description)`);
    await conn.run('CHECKPOINT');
    return tasks.length;
  } finally {
    conn.closeSync();
  }
}
