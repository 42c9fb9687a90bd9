import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { MINILM_L6_SHAPE, syntheticSentences, TINY_SHAPE, writeBertModel, type WriteBertOptions } from '../helpers/bert-onnx.js';

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
const loadTokenizer = (dir: string) => new Tokenizer(readJson(join(dir, 'tokenizer.json')), readJson(join(dir, 'tokenizer_config.json')));

interface Batch { ids: number[][]; typeIds?: number[][] }

/** Right-pads with [PAD]=0 and runs the session; returns last_hidden_state and the mask. */
async function run(session: ort.InferenceSession, batch: Batch): Promise<{ out: Float32Array; dims: readonly number[]; mask: number[][] }> {
  const B = batch.ids.length;
  const S = Math.max(...batch.ids.map((r) => r.length));
  const ids = new BigInt64Array(B * S);
  const mask = new BigInt64Array(B * S);
  const types = new BigInt64Array(B * S);
  batch.ids.forEach((row, b) =>
    row.forEach((id, i) => {
      ids[b * S + i] = BigInt(id);
      mask[b * S + i] = 1n;
      types[b * S + i] = BigInt(batch.typeIds?.[b]?.[i] ?? 0);
    }),
  );
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [B, S]),
    attention_mask: new ort.Tensor('int64', mask, [B, S]),
  };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', types, [B, S]);
  const r = await session.run(feeds);
  const t = r.last_hidden_state!;
  return { out: t.data as Float32Array, dims: t.dims, mask: batch.ids.map((row) => Array.from({ length: S }, (_, i) => (i < row.length ? 1 : 0))) };
}

/** Mean over the masked tokens, then L2-normalized: the sentence-transformers pooling. */
function pool(out: Float32Array, dims: readonly number[], mask: number[][]): Float32Array[] {
  const [B, S, H] = dims as [number, number, number];
  return Array.from({ length: B }, (_, b) => {
    const v = new Float32Array(H);
    let n = 0;
    for (let s = 0; s < S; s++) {
      if (!mask[b]![s]) continue;
      n++;
      for (let h = 0; h < H; h++) v[h]! += out[(b * S + s) * H + h]!;
    }
    let norm = 0;
    for (let h = 0; h < H; h++) norm += (v[h]! / n) ** 2;
    norm = Math.sqrt(norm);
    for (let h = 0; h < H; h++) v[h] = v[h]! / n / norm;
    return v;
  });
}
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
/** The [seq, hidden] rows of batch element b, first `len` tokens. */
const rowsOf = (out: Float32Array, dims: readonly number[], b: number, len: number) => {
  const [, S, H] = dims as [number, number, number];
  return out.subarray(b * S * H, b * S * H + len * H);
};

describe('synthetic BERT sentence-transformers models', () => {
  let root: string;
  const dirs = new Map<string, string>();
  const variants: { name: string; opts: Omit<WriteBertOptions, 'shape'> }[] = [];
  for (const quantize of ['fp32', 'int8'] as const)
    for (const tokenTypeIds of [true, false])
      for (const layout of ['root', 'onnx-subdir'] as const)
        variants.push({ name: `${quantize}/${tokenTypeIds ? 'tt' : 'no-tt'}/${layout}`, opts: { quantize, tokenTypeIds, layout } });
  const written = new Map<string, Awaited<ReturnType<typeof writeBertModel>>>();
  const sessions = new Map<string, ort.InferenceSession>();
  const session = (name: string) => sessions.get(name)!;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'orb-bert-'));
    for (const v of variants) {
      const dir = join(root, v.name.replaceAll('/', '_'));
      dirs.set(v.name, dir);
      const w = await writeBertModel(dir, { shape: TINY_SHAPE, ...v.opts });
      written.set(v.name, w);
      sessions.set(v.name, await ort.InferenceSession.create(w.modelPath, { intraOpNumThreads: 1 }));
    }
  });
  after(async () => {
    for (const s of sessions.values()) await s.release();
    rmSync(root, { recursive: true, force: true });
  });

  it('writes every variant where sentence-transformers puts it, with BERT config files', () => {
    for (const v of variants) {
      const dir = dirs.get(v.name)!;
      const w = written.get(v.name)!;
      assert.equal(w.modelPath, v.opts.layout === 'onnx-subdir' ? join(dir, 'onnx', 'model.onnx') : join(dir, 'model.onnx'), v.name);
      assert.equal(w.tokenizerPath, join(dir, 'tokenizer.json'));
      for (const f of ['tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'config.json', 'modules.json', 'sentence_bert_config.json', '1_Pooling/config.json'])
        assert.ok(existsSync(join(dir, f)), `${v.name}: ${f}`);
      const config = readJson(join(dir, 'config.json'));
      assert.equal(config.model_type, 'bert');
      assert.equal(config.hidden_size, TINY_SHAPE.hidden);
      assert.equal(config.num_hidden_layers, TINY_SHAPE.layers);
      assert.equal(config.vocab_size, TINY_SHAPE.vocabSize);
      assert.equal(readJson(join(dir, '1_Pooling/config.json')).pooling_mode_mean_tokens, true);
      assert.equal(w.vocab.length, TINY_SHAPE.vocabSize);
      assert.equal(readFileSync(join(dir, 'vocab.txt'), 'utf8').trimEnd().split('\n').length, TINY_SHAPE.vocabSize);
    }
  });

  it('declares int64 [batch, seq] inputs (token_type_ids only when asked) and outputs [batch, seq, hidden]', async () => {
    for (const v of variants) {
      const s = session(v.name);
      const expected = v.opts.tokenTypeIds ? ['input_ids', 'attention_mask', 'token_type_ids'] : ['input_ids', 'attention_mask'];
      assert.deepEqual([...s.inputNames], expected, v.name);
      assert.deepEqual([...s.outputNames], ['last_hidden_state'], v.name);
      const { dims, out } = await run(s, { ids: [[2, 10, 11, 12, 3], [2, 20, 3]] });
      assert.deepEqual([...dims], [2, 5, TINY_SHAPE.hidden], v.name);
      assert.ok(out.every(Number.isFinite), `${v.name}: finite outputs`);
    }
  });

  it('tokenizes with [CLS] … [SEP], lowercases, and splits unknown words into ## pieces or [UNK]', () => {
    const dir = dirs.get('fp32/tt/root')!;
    const tok = loadTokenizer(dir);
    const vocab = written.get('fp32/tt/root')!.vocab;
    assert.equal(vocab[0], '[PAD]');
    assert.equal(tok.token_to_id('[PAD]'), 0);
    const e = tok.encode('Refactor the auth middleware to fix flaky database migration tests', { return_token_type_ids: true });
    assert.deepEqual(e.tokens, ['[CLS]', 'refactor', 'the', 'auth', 'middleware', 'to', 'fix', 'flaky', 'database', 'migration', 'tests', '[SEP]']);
    assert.equal(e.ids[0], tok.token_to_id('[CLS]'));
    assert.equal(e.ids.at(-1), tok.token_to_id('[SEP]'));
    assert.deepEqual(e.ids.map((i: number) => vocab[i]), e.tokens, 'ids index the returned vocabulary');
    assert.deepEqual(e.token_type_ids, e.ids.map(() => 0));
    assert.deepEqual(tok.encode('REFACTOR The AUTH Middleware').ids, tok.encode('refactor the auth middleware').ids, 'lowercased');
    assert.deepEqual(tok.encode('Fixing').tokens, ['[CLS]', 'fix', '##ing', '[SEP]']);
    const unknown = tok.encode('zxqv, 漢!').tokens;
    assert.deepEqual(unknown.slice(1, 5), ['z', '##x', '##q', '##v'], 'letters always resolve to pieces');
    assert.deepEqual(unknown.slice(5, -1), [',', '[UNK]', '!'], 'a character outside the vocabulary is [UNK]');
    assert.equal(tok.decode(e.ids, { skip_special_tokens: true }), 'refactor the auth middleware to fix flaky database migration tests');
    for (const s of syntheticSentences(20, 12, 3)) assert.ok(!tok.encode(s).tokens.includes('[UNK]'), s);
  });

  it('pins that @huggingface/tokenizers 0.2.0 applies neither truncation nor padding from tokenizer.json', () => {
    const dir = dirs.get('fp32/tt/root')!;
    const json = readJson(join(dir, 'tokenizer.json')) as { truncation: { max_length: number } };
    assert.equal(json.truncation.max_length, 128);
    const e = loadTokenizer(dir).encode(Array.from({ length: 300 }, () => 'test').join(' '));
    assert.equal(e.ids.length, 302, 'callers must truncate (and pad) themselves');
  });

  it('padding a sentence within a batch leaves its real-token outputs unchanged', async () => {
    const tok = loadTokenizer(dirs.get('fp32/tt/root')!);
    const short = tok.encode('fix the flaky test').ids;
    const long = tok.encode('refactor the authentication middleware and update the database migration scripts for the release').ids;
    assert.ok(long.length > short.length + 5);
    for (const v of variants) {
      const alone = await run(session(v.name), { ids: [short] });
      const padded = await run(session(v.name), { ids: [long, short] });
      const a = rowsOf(alone.out, alone.dims, 0, short.length);
      const p = rowsOf(padded.out, padded.dims, 1, short.length);
      if (v.opts.quantize === 'fp32') {
        assert.ok(maxAbsDiff(a, p) < 1e-4, `${v.name}: max |Δ| ${maxAbsDiff(a, p)}`);
      } else {
        // Dynamic quantization takes one activation scale per tensor, so batch-mates move the
        // quantization grid slightly (as in any int8 export); masking itself is still exact.
        const c = cosine(pool(alone.out, alone.dims, alone.mask)[0]!, pool(padded.out, padded.dims, padded.mask)[1]!);
        assert.ok(c > 0.999, `${v.name}: pooled cosine ${c}`);
      }
      // The long sentence, alone or batched, agrees too.
      const longAlone = await run(session(v.name), { ids: [long] });
      const tol = v.opts.quantize === 'fp32' ? 1e-4 : 0.1;
      assert.ok(maxAbsDiff(rowsOf(longAlone.out, longAlone.dims, 0, long.length), rowsOf(padded.out, padded.dims, 0, long.length)) < tol, v.name);
    }
  });

  it('token_type_ids all 0 equals the model without that input; type 1 changes the output', async () => {
    const ids = [[2, 30, 31, 32, 3]];
    for (const q of ['fp32', 'int8'] as const) {
      const withTt = await run(session(`${q}/tt/root`), { ids, typeIds: [[0, 0, 0, 0, 0]] });
      const without = await run(session(`${q}/no-tt/root`), { ids });
      assert.ok(maxAbsDiff(withTt.out, without.out) < 1e-5, q);
      const type1 = await run(session(`${q}/tt/root`), { ids, typeIds: [[0, 0, 0, 1, 1]] });
      assert.ok(maxAbsDiff(withTt.out, type1.out) > 1e-3, q);
    }
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const again = join(root, 'again');
    const other = join(root, 'other');
    const w1 = written.get('fp32/tt/root')!;
    const w2 = await writeBertModel(again, { shape: TINY_SHAPE });
    const w3 = await writeBertModel(other, { shape: TINY_SHAPE, seed: 43 });
    assert.ok(readFileSync(w1.modelPath).equals(readFileSync(w2.modelPath)), 'same seed, same bytes');
    assert.ok(readFileSync(w1.tokenizerPath).equals(readFileSync(w3.tokenizerPath)), 'the tokenizer does not depend on the seed');
    const batch = { ids: [[2, 40, 41, 42, 43, 3]] };
    const s2 = await ort.InferenceSession.create(w2.modelPath);
    const s3 = await ort.InferenceSession.create(w3.modelPath);
    const r1 = await run(session('fp32/tt/root'), batch);
    assert.equal(maxAbsDiff(r1.out, (await run(s2, batch)).out), 0);
    const r3 = await run(s3, batch);
    assert.ok(cosine(pool(r1.out, r1.dims, r1.mask)[0]!, pool(r3.out, r3.dims, r3.mask)[0]!) < 0.9, 'another seed is another model');
    await s2.release();
    await s3.release();
  });

  it('int8 stays close to fp32 of the same seed and keeps sentences apart', async () => {
    const tok = loadTokenizer(dirs.get('fp32/tt/root')!);
    const sentences = syntheticSentences(16, 14, 11);
    const ids = sentences.map((s) => tok.encode(s).ids);
    const f = await run(session('fp32/tt/root'), { ids });
    const q = await run(session('int8/tt/root'), { ids });
    const pf = pool(f.out, f.dims, f.mask);
    const pq = pool(q.out, q.dims, q.mask);
    for (let i = 0; i < pf.length; i++) assert.ok(cosine(pf[i]!, pq[i]!) > 0.99, `sentence ${i}: cosine ${cosine(pf[i]!, pq[i]!)}`);
    // Pooled vectors of unrelated sentences are not all alike; shared words pull them together.
    const unrelated = cosine(pf[0]!, pf[1]!);
    assert.ok(unrelated < 0.9, `unrelated sentences: ${unrelated}`);
    const trio = await run(session('fp32/tt/root'), {
      ids: ['refactor the auth middleware', 'refactor the auth middleware tests', 'update billing invoice email'].map((s) => tok.encode(s).ids),
    });
    const [a, b, c] = pool(trio.out, trio.dims, trio.mask) as [Float32Array, Float32Array, Float32Array];
    assert.ok(cosine(a, b) > cosine(a, c), `overlapping sentences are closer: ${cosine(a, b)} vs ${cosine(a, c)}`);
  });

  it('the MiniLM-L6 shape builds and runs a 32 × ~50-token batch (int8)', { timeout: 60_000 }, async () => {
    const dir = join(root, 'minilm-int8');
    const w = await writeBertModel(dir, { shape: MINILM_L6_SHAPE, quantize: 'int8', layout: 'onnx-subdir' });
    assert.equal(w.vocab.length, 30522);
    assert.deepEqual(w.vocab.slice(100, 104), ['[UNK]', '[CLS]', '[SEP]', '[MASK]'], "bert-base-uncased's special ids");
    const tok = loadTokenizer(dir);
    const ids = syntheticSentences(32, 48, 5).map((s) => tok.encode(s).ids);
    const s = await ort.InferenceSession.create(w.modelPath, { intraOpNumThreads: 2 });
    const r = await run(s, { ids });
    await s.release();
    assert.deepEqual([...r.dims], [32, Math.max(...ids.map((x) => x.length)), 384]);
    assert.ok(r.out.every(Number.isFinite));
    for (const v of pool(r.out, r.dims, r.mask)) assert.ok(Math.abs(cosine(v, v) - 1) < 1e-5);
  });
});
