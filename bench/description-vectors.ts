// Vectors per distinct description for a synth database (synth repeats a few thousand):
// embedding every execution's full content one by one would take hours at 1M, and query
// latency does not depend on which vectors are stored. Each row gets its description's vector,
// as int8 with its scale, under the model's id.
import { LIST, TINYINT } from '@duckdb/node-api';
import type { OnnxEmbedder } from '../src/embed/embedder.js';
import { registerModel } from '../src/embed/indexer.js';
import { quantize } from '../src/embed/quantize.js';
import type { Store } from '../src/store/db.js';
import { sqlString } from '../src/store/sql.js';

const LIST_TINYINT = LIST(TINYINT);

/** Returns how many distinct descriptions were embedded. */
export async function addDescriptionVectors(store: Store, embedder: OnnxEmbedder, source: string): Promise<number> {
  const conn = await store.connect();
  try {
    const descriptions = (await conn.runAndReadAll('SELECT DISTINCT task_description FROM executions')).getRows().map((r) => String(r[0]));
    await registerModel(conn, embedder.modelId, embedder.dimension, source);
    await conn.run('CREATE TEMP TABLE desc_vectors (task_description VARCHAR, scale FLOAT, embedding TINYINT[])');
    for (let i = 0; i < descriptions.length; i += 64) {
      const batch = descriptions.slice(i, i + 64);
      const { vectors } = await embedder.embed(batch);
      const app = await conn.createAppender('desc_vectors', 'main', 'temp');
      for (let k = 0; k < batch.length; k++) {
        const q = quantize(vectors[k]!);
        app.appendVarchar(batch[k]!);
        app.appendFloat(q.scale);
        app.appendList(Array.from(q.values), LIST_TINYINT);
        app.endRow();
      }
      app.closeSync();
    }
    await conn.run(`INSERT INTO execution_embeddings SELECT e.task_id, ${sqlString(embedder.modelId)}, md5(e.task_description)[:32], d.scale, d.embedding, now()
      FROM executions e JOIN desc_vectors d USING (task_description)`);
    await conn.run('CHECKPOINT');
    return descriptions.length;
  } finally {
    conn.closeSync();
  }
}
