// The MiniLM code path (tokenize → ONNX → mean-pool over the mask → L2) on generated
// BERT-shaped models with random weights: real onnxruntime-node, real tokenizer.json.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { OnnxEmbedder } from '../../src/embed/embedder.js';
import { readModelDir, type ModelFiles } from '../../src/embed/model.js';
import { TextTokenizer } from '../../src/embed/tokenizer.js';
import { TINY_SHAPE, writeBertModel } from '../helpers/bert-onnx.js';
import { tempDir } from '../helpers/server.js';

const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('OnnxEmbedder on BERT-shaped exports', () => {
  const dir = tempDir();
  const variants: Record<string, ModelFiles> = {};

  before(async () => {
    const specs = {
      'fp32 + token_type_ids': { quantize: 'fp32', tokenTypeIds: true, layout: 'root' },
      'fp32 without token_type_ids': { quantize: 'fp32', tokenTypeIds: false, layout: 'root' },
      'int8, onnx/ subfolder': { quantize: 'int8', tokenTypeIds: true, layout: 'onnx-subdir' },
    } as const;
    for (const [name, o] of Object.entries(specs)) {
      const d = join(dir, name.replace(/\W+/g, '-'));
      await writeBertModel(d, { shape: TINY_SHAPE, seed: 11, ...o });
      variants[name] = (await readModelDir(d, 'model-dir'))!;
    }
  });

  it('loads every variant, finds its inputs and reports the hidden size as the dimension', async () => {
    for (const [name, files] of Object.entries(variants)) {
      const e = await OnnxEmbedder.load(files);
      assert.equal(e.dimension, TINY_SHAPE.hidden, name);
      const { vectors } = await e.embed(['refactor the auth middleware']);
      assert.equal(vectors[0]!.length, TINY_SHAPE.hidden);
      await e.close();
    }
  });

  it('mean-pools over the attention mask and L2-normalizes, exactly as computed by hand', async () => {
    const files = variants['fp32 + token_type_ids']!;
    const e = await OnnxEmbedder.load(files);
    const texts = ['fix flaky tests', 'write a database migration that adds a nullable column to the users table'];
    const { vectors } = await e.embed(texts);
    // By hand: each text alone (no padding), mean of last_hidden_state rows, then L2.
    const session = await ort.InferenceSession.create(files.onnxPath);
    const tok = new TextTokenizer(files.tokenizerPath, files.tokenizerConfigPath, 256);
    for (let k = 0; k < texts.length; k++) {
      const ids = tok.encode(texts[k]!).ids;
      const n = ids.length;
      const feeds = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
        token_type_ids: new ort.Tensor('int64', new BigInt64Array(n), [1, n]),
      };
      const out = (await session.run(feeds)).last_hidden_state!.data as Float32Array;
      const d = TINY_SHAPE.hidden;
      const mean = new Float32Array(d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += out[i * d + j]! / n;
      const norm = Math.hypot(...mean);
      const expected = mean.map((x) => x / norm);
      for (let j = 0; j < d; j++) assert.ok(Math.abs(vectors[k]![j]! - expected[j]!) < 1e-4, `text ${k} dim ${j}`);
      assert.ok(Math.abs(Math.hypot(...vectors[k]!) - 1) < 1e-5, 'unit length');
    }
    await session.release();
    await e.close();
  });

  it('gives a text the same vector alone or padded inside a batch', async () => {
    const e = await OnnxEmbedder.load(variants['fp32 without token_type_ids']!);
    const short = 'fix ci';
    const [alone] = (await e.embed([short])).vectors;
    const r = await e.embed([short, 'refactor the authentication middleware to validate jwt tokens in one shared place']);
    assert.ok(cos(alone!, r.vectors[0]!) > 0.9999);
    assert.ok(r.paddedTokens > r.realTokens, 'the short text was padded');
    await e.close();
  });

  it('truncates at maxTokens, keeps the closing [SEP], and counts it', async () => {
    const files = variants['fp32 + token_type_ids']!;
    const tok = new TextTokenizer(files.tokenizerPath, files.tokenizerConfigPath, 16);
    const long = Array.from({ length: 40 }, () => 'refactor').join(' ');
    const enc = tok.encode(long);
    assert.equal(enc.ids.length, 16);
    assert.equal(enc.truncated, true);
    const full = new TextTokenizer(files.tokenizerPath, files.tokenizerConfigPath, 1000).encode(long).ids;
    assert.equal(enc.ids[15], full[full.length - 1], 'the last id is the closing special token');
    const e = await OnnxEmbedder.load(files, { maxTokens: 16 });
    const r = await e.embed([long, 'fix ci']);
    assert.equal(r.truncated, 1);
    await e.close();
  });

  it('keeps int8 close to fp32 for the same weights', async () => {
    const d8 = join(dir, 'int8-same-seed');
    await writeBertModel(d8, { shape: TINY_SHAPE, seed: 11, quantize: 'int8', tokenTypeIds: true, layout: 'root' });
    const a = await OnnxEmbedder.load(variants['fp32 + token_type_ids']!);
    const b = await OnnxEmbedder.load((await readModelDir(d8, 'model-dir'))!);
    const t = ['stabilize the flaky integration tests on ci'];
    assert.ok(cos((await a.embed(t)).vectors[0]!, (await b.embed(t)).vectors[0]!) > 0.99);
    await a.close();
    await b.close();
  });

  after(() => undefined);
});
