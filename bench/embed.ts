// npm run bench:embed [-- --texts N]
// Embeddings/s of the MiniLM code path on generated MiniLM-L6-shaped models (fp32 and int8,
// random weights, real architecture) and on the offline model, batch-of-one against
// length-sorted batches, for realistic execution contents (about 40–80 tokens).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { evalTexts } from './eval-set.js';
import { embeddingContent } from '../src/embed/content.js';
import { OnnxEmbedder } from '../src/embed/embedder.js';
import { readModelDir, resolveModel, defaultCacheDir, type ModelFiles, buildOffline } from '../src/embed/model.js';
import { TextTokenizer } from '../src/embed/tokenizer.js';
import { MINILM_L6_SHAPE, writeBertModel } from '../test/helpers/bert-onnx.js';

const { values } = parseArgs({ options: { texts: { type: 'string', default: '512' }, eval: { type: 'string', default: '../shared/eval/similar-tasks.jsonl' } } });
const N = Number(values.texts);

function contents(): string[] {
  const descriptions = evalTexts(values.eval);
  const tiers = ['small', 'medium', 'large'];
  return Array.from({ length: N }, (_, i) =>
    embeddingContent({
      task_type: ['refactor', 'test', 'fix', 'docs'][i % 4]!,
      task_description: `${descriptions[i % descriptions.length]!}${i % 3 === 0 ? ` and ${descriptions[(i * 7) % descriptions.length]!.toLowerCase()}` : ''}`,
      repo: ['mahavishnu', 'orb-core', 'session-buddy'][i % 3]!,
      model_tier: tiers[i % 3]!,
      pool_type: 'session-buddy',
      swarm_topology: i % 2 ? 'mesh' : null,
      success: i % 5 !== 0,
      solution_summary: i % 4 === 0 ? 'Extracted the shared validation into middleware with tests' : null,
    }, 'review'),
  );
}

async function rate(e: OnnxEmbedder, texts: string[], batch: number, sorted: boolean): Promise<{ perSec: number; padding: number }> {
  const order = sorted ? [...texts].sort((a, b) => a.length - b.length) : texts;
  await e.embed(order.slice(0, Math.min(batch, 8))); // warm-up
  let padded = 0;
  let real = 0;
  const t0 = performance.now();
  for (let i = 0; i < order.length; i += batch) {
    const r = await e.embed(order.slice(i, i + batch));
    padded += r.paddedTokens;
    real += r.realTokens;
  }
  return { perSec: order.length / ((performance.now() - t0) / 1000), padding: padded / real - 1 };
}

const dir = mkdtempSync(join(tmpdir(), 'orb-bench-embed-'));
try {
  const texts = contents();
  const models: [string, ModelFiles][] = [];
  for (const q of ['fp32', 'int8'] as const) {
    const d = join(dir, q);
    await writeBertModel(d, { shape: MINILM_L6_SHAPE, quantize: q, seed: 1 });
    models.push([`MiniLM-L6 shape ${q}`, (await readModelDir(d, 'model-dir'))!]);
  }
  try {
    const offline = await resolveModel({ cacheDir: defaultCacheDir(), name: '__none__', buildOffline });
    models.push([`offline (${offline.manifest.id})`, offline]);
  } catch (err) {
    console.log(`offline model unavailable: ${(err as Error).message}`);
  }
  const tok = new TextTokenizer(models[0]![1].tokenizerPath, models[0]![1].tokenizerConfigPath, 256);
  const lens = texts.map((t) => tok.encode(t).ids.length).sort((a, b) => a - b);
  console.log(`${N} execution contents, WordPiece tokens: min ${lens[0]}, median ${lens[lens.length >> 1]}, max ${lens[lens.length - 1]}`);
  const SIZES = (process.env.BENCH_SIZES ?? "8,16,32").split(",").map(Number);
  console.log(`model                                   threads  batch-of-1   batch 32 unsorted   ${SIZES.map((b) => `sorted ${b} (padding)`).join('   ')}`);
  const results: Record<string, number> = {};
  for (const [name, files] of models) {
    for (const threads of [1, 2]) {
      const e = await OnnxEmbedder.load(files, { threads });
      const one = await rate(e, texts.slice(0, Math.min(N, 128)), 1, false);
      const unsorted = await rate(e, texts, 32, false);
      const sorted = [];
      for (const b of SIZES) sorted.push(await rate(e, texts, b, true));
      await e.close();
      results[`${name}/${threads}/one`] = one.perSec;
      results[`${name}/${threads}/sorted`] = Math.max(...sorted.map((r) => r.perSec));
      console.log(
        `${name.padEnd(40)} ${String(threads).padStart(4)}   ${one.perSec.toFixed(0).padStart(8)}/s   ${unsorted.perSec.toFixed(0).padStart(8)}/s (${(unsorted.padding * 100).toFixed(0)}%)   ${sorted.map((r) => `${r.perSec.toFixed(0).padStart(8)}/s (${(r.padding * 100).toFixed(0)}%)`).join('   ')}`,
      );
    }
  }
  const naive = results['MiniLM-L6 shape fp32/1/one']!;
  const best = Math.max(results['MiniLM-L6 shape int8/1/sorted']!, results['MiniLM-L6 shape int8/2/sorted']!);
  console.log(`int8 length-sorted batches (best size) vs naive fp32 batch-of-one: ${(best / naive).toFixed(1)}× (${best.toFixed(0)} vs ${naive.toFixed(0)} emb/s)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
