// npm run bench:recall-explore [-- --eval DEV,PUBLIC]
// Ideas for similar's ranking beyond recall-cv's grid, each cross-validated over dev groups in
// BOTH worlds (new wording, and included: every text in the history, its own row dropped), with
// the public set's figure at the new-wording world's best w (reported, never chosen on). Queries
// are bare descriptions; vectors float (the served int8 codes differ in the third decimal).
//   vectors: raw ("type: description", what ships); the embedded texts (queries and stored) with
//     each lexicon word replaced by its class's first word; the query prefixed "task: " (a neutral
//     type, shaped like the stored contents); description only; the mean of the two;
//     centered on the mean of a background corpus (3,000 distinct `orb-learn synth` task
//     contents, no eval text) or on the history's own mean (transductive: the served index would
//     have to re-center as the store grows); "all-but-the-top" (centered on the background, its top
//     1-3 principal components removed); centered + Rocchio pseudo-relevance feedback
//     (q + 0.5·mean of the top 3 rows' vectors).
//   lexical: BM25 k1 1.2 b 0.75 with Porter2 (PORTER2_ANALYZER); + the domain lexicon (what
//     ships); + the lexicon without the 3 classes whose words the lexicon's author had read in dev
//     texts before writing it (image, duplicate, notification); k1 0.9 b 0.4; k1 2; + stem bigrams.
//   fusion: (1 − w)·cos + w·BM25/BM25(q, q) (shipped); the same over the best row's BM25; z-scores
//     of both over the query's candidates, (1 − w)·z(cos) + w·z(BM25).
// Then a paired bootstrap over dev groups (5,000 resamples) of the CV difference of each idea.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { groupTaskType, readEvalSet, DEV_AND_PUBLIC_EVAL_SETS, type EvalSet } from './eval-set.js';
import { OnnxEmbedder } from '../src/embed/embedder.js';
import { readModelDir } from '../src/embed/model.js';
import { buildOfflineModel } from '../src/embed/offline/index.js';
import { LexicalIndex, PORTER2_ANALYZER as DEFAULT_ANALYZER, tokenize, type Analyzer } from '../src/query/lexical-index.js';
import { LEXICON, withLexicon } from '../src/query/lexicon.js';
import { generateExecutions } from '../src/synth/generate.js';

const built = await buildOfflineModel(join(tmpdir(), 'orb-learn-recall-offline', 'use-lite'), { model: 'use-lite' });
const embedder = await OnnxEmbedder.load((await readModelDir(built.dir, 'offline'))!, { threads: 1 });
const emb = async (t: string[]) => (await embedder.embed(t)).vectors;
const dim = embedder.dimension;

// Background: synth's distinct task contents (no eval text).
const bgTexts = new Set<string>();
for (const chunk of generateExecutions({ rows: 20000, seed: 7, now: 0 })) for (const r of chunk) bgTexts.add(`${r.task_type}: ${r.task_description}`);
const bg = await emb([...bgTexts].slice(0, 3000));
const mean = (vs: Float32Array[]) => {
  const m = new Float64Array(dim);
  for (const v of vs) for (let i = 0; i < dim; i++) m[i]! += v[i]! / vs.length;
  return m;
};
const bgMean = mean(bg);
function topPCs(vs: Float32Array[], mu: Float64Array, n: number): Float64Array[] {
  const pcs: Float64Array[] = [];
  const X = vs.map((v) => Float64Array.from(v, (x, i) => x - mu[i]!));
  for (let c = 0; c < n; c++) {
    let u = Float64Array.from({ length: dim }, (_, i) => Math.sin(i + c));
    for (let it = 0; it < 50; it++) {
      const nu = new Float64Array(dim);
      for (const x of X) {
        let d = 0;
        for (let i = 0; i < dim; i++) d += x[i]! * u[i]!;
        for (let i = 0; i < dim; i++) nu[i]! += d * x[i]!;
      }
      for (const p of pcs) {
        let d = 0;
        for (let i = 0; i < dim; i++) d += nu[i]! * p[i]!;
        for (let i = 0; i < dim; i++) nu[i]! -= d * p[i]!;
      }
      const nn = Math.hypot(...nu);
      u = nu.map((x) => x / nn);
    }
    pcs.push(u);
  }
  return pcs;
}
const bgPCs = topPCs(bg, bgMean, 3);
const transform = (mu: Float64Array | null, pcs: Float64Array[]) => (v: Float32Array) => {
  const x = Float64Array.from(v, (a, i) => a - (mu ? mu[i]! : 0));
  for (const p of pcs) {
    let d = 0;
    for (let i = 0; i < dim; i++) d += x[i]! * p[i]!;
    for (let i = 0; i < dim; i++) x[i]! -= d * p[i]!;
  }
  const n = Math.hypot(...x);
  return x.map((a) => a / n);
};
const dot = (a: Float64Array, b: Float64Array) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += a[i]! * b[i]!;
  return d;
};

const lexAnalyzer = withLexicon(DEFAULT_ANALYZER, LEXICON);
// The lexicon without the classes whose words the author had read in three dev groups before writing it (image, duplicate, notification).
const seen = new Set(['image', 'duplicate', 'notification']);
const lexAnalyzer2 = withLexicon(DEFAULT_ANALYZER, LEXICON.filter((cls) => !seen.has(cls[0]!)));
const identity: Analyzer = { stopwords: new Set(), stem: (w) => w };
type Lex = { name: string; analyzer: Analyzer; k1: number; b: number; bigrams?: boolean };
const LEXES: Lex[] = [
  { name: 'bm25', analyzer: DEFAULT_ANALYZER, k1: 1.2, b: 0.75 },
  { name: 'bm25+lexicon', analyzer: lexAnalyzer, k1: 1.2, b: 0.75 },
  { name: 'bm25+lexicon-unseen', analyzer: lexAnalyzer2, k1: 1.2, b: 0.75 },
  { name: 'bm25 k1 .9 b .4', analyzer: DEFAULT_ANALYZER, k1: 0.9, b: 0.4 },
  { name: 'bm25 k1 2 b .75', analyzer: DEFAULT_ANALYZER, k1: 2, b: 0.75 },
  { name: 'bm25 +bigrams', analyzer: DEFAULT_ANALYZER, k1: 1.2, b: 0.75, bigrams: true },
];
const toks = (text: string, l: Lex) => {
  const t = tokenize(text, l.analyzer);
  return l.bigrams ? [...t, ...t.slice(1).map((x, i) => `${t[i]}0${x}`)] : t;
};

type Vec = 'raw' | 'lexicon words rewritten' | 'query "task: "' | 'desc-only' | 'mean2' | 'center-bg' | 'center-hist' | 'abtt-bg-1' | 'abtt-bg-2' | 'abtt-bg-3' | 'center-bg+prf';
const VECS: Vec[] = ['raw', 'lexicon words rewritten', 'query "task: "', 'desc-only', 'mean2', 'center-bg', 'center-hist', 'abtt-bg-1', 'abtt-bg-2', 'abtt-bg-3', 'center-bg+prf'];
type Fusion = 'linear/norm' | 'z' | 'linear/max';
const FUSIONS: Fusion[] = ['linear/norm', 'z', 'linear/max'];
const WEIGHTS = Array.from({ length: 21 }, (_, i) => i / 20);

interface Scored {
  hits: Uint8Array[][][]; // [vec][lex*fusion][w][query]
  k: number[];
}

async function scoreSet(set: EvalSet, world: string) {
  const { items, groups } = set;
  const k = items.map((it) => groups.find((g) => g.group === it.group)!.texts.length - 1);
  const q = await emb(items.map((i) => i.text));
  // The embedded texts with every lexicon word (as written) replaced by its class's first word ("db" → "database").
  const headOf = new Map(LEXICON.flatMap((cls) => cls.map((w) => [w.replace(/^=/, ''), cls[0]!.replace(/^=/, '')] as [string, string])));
  const rewrite = (t: string) => t.replace(/[\p{L}\p{N}]+/gu, (w) => headOf.get(w.toLowerCase()) ?? w);
  const qCanon = await emb(items.map((i) => rewrite(i.text)));
  const dCanon = await emb(items.map((i) => `${groupTaskType(i.group)}: ${rewrite(i.text)}`));
  // A query knows no task type: prefixed with a neutral one, so that it is shaped like the stored contents.
  const qTask = await emb(items.map((i) => `task: ${i.text}`));
  const dTyped = await emb(items.map((i) => `${groupTaskType(i.group)}: ${i.text}`));
  const dDesc = q;
  const position = items.map((it) => groups.find((g) => g.group === it.group)!.texts.indexOf(it.text));
  const rounds = world === 'included' ? 1 : Math.max(...position) + 1;
  const hits = VECS.map(() => LEXES.flatMap(() => FUSIONS.map(() => WEIGHTS.map(() => new Uint8Array(items.length)))));
  for (let r = 0; r < rounds; r++) {
    const hist = [...items.keys()].filter((j) => world === 'included' || position[j] !== r);
    const asks = [...items.keys()].filter((j) => world === 'included' || position[j] === r);
    const histMean = mean(hist.map((j) => dTyped[j]!));
    const T: Record<Vec, ((v: Float32Array) => Float64Array) | null> = {
      raw: transform(null, []),
      'query "task: "': transform(null, []),
      'lexicon words rewritten': transform(null, []),
      'desc-only': transform(null, []),
      mean2: null,
      'center-bg': transform(bgMean, []),
      'center-hist': transform(histMean, []),
      'abtt-bg-1': transform(bgMean, bgPCs.slice(0, 1)),
      'abtt-bg-2': transform(bgMean, bgPCs.slice(0, 2)),
      'abtt-bg-3': transform(bgMean, bgPCs.slice(0, 3)),
      'center-bg+prf': transform(bgMean, []),
    };
    const lexIdx = LEXES.map((l) => {
      const x = new LexicalIndex(l.k1, l.b, identity);
      hist.forEach((j, d) => x.add(d, toks(items[j]!.text, l).join(' ')));
      return x;
    });
    VECS.forEach((vn, vi) => {
      let docs: Float64Array[];
      let qv: (i: number) => Float64Array;
      if (vn === 'mean2') {
        const t = transform(null, []);
        docs = hist.map((j) => {
          const a = t(dTyped[j]!);
          const b = t(dDesc[j]!);
          return t(Float32Array.from(a, (x, i) => x + b[i]!));
        });
        qv = (i) => t(q[i]!);
      } else {
        const t = T[vn]!;
        docs = hist.map((j) => t((vn === 'desc-only' ? dDesc : vn === 'lexicon words rewritten' ? dCanon : dTyped)[j]!));
        qv = (i) => t((vn === 'query "task: "' ? qTask : vn === 'lexicon words rewritten' ? qCanon : q)[i]!);
      }
      for (const i of asks) {
        let qq = qv(i);
        let cos = docs.map((d) => dot(qq, d));
        if (vn === 'center-bg+prf') {
          const top = [...cos.keys()].filter((d) => hist[d] !== i).sort((a, b) => cos[b]! - cos[a]!).slice(0, 3);
          const nq = Float64Array.from(qq, (x, n) => x + (0.5 * top.reduce((s, d) => s + docs[d]![n]!, 0)) / 3);
          const nn = Math.hypot(...nq);
          qq = nq.map((x) => x / nn);
          cos = docs.map((d) => dot(qq, d));
        }
        const cm = cos.reduce((s, x) => s + x, 0) / cos.length;
        const cs = Math.sqrt(cos.reduce((s, x) => s + (x - cm) ** 2, 0) / cos.length) || 1;
        LEXES.forEach((l, li) => {
          const lq = lexIdx[li]!.query(toks(items[i]!.text, l).join(' '));
          const bm = hist.map((_, d) => lq.score(d));
          const bmm = bm.reduce((s, x) => s + x, 0) / bm.length;
          const bms = Math.sqrt(bm.reduce((s, x) => s + (x - bmm) ** 2, 0) / bm.length) || 1;
          FUSIONS.forEach((f, fi) => {
            WEIGHTS.forEach((w, wi) => {
              const s = hist.map((_, d) =>
                f === 'linear/norm'
                  ? (1 - w) * cos[d]! + (lq.norm > 0 ? (w * bm[d]!) / lq.norm : 0)
                  : f === 'linear/max'
                    ? (1 - w) * cos[d]! + (lq.max > 0 ? (w * bm[d]!) / lq.max : 0)
                    : ((1 - w) * (cos[d]! - cm)) / cs + (w * (bm[d]! - bmm)) / bms,
              );
              const top = [...hist.keys()]
                .filter((d) => hist[d] !== i)
                .sort((a, b) => s[b]! - s[a]! || cos[b]! - cos[a]!)
                .slice(0, k[i]);
              hits[vi]![li * FUSIONS.length + fi]![wi]![i] = top.filter((d) => items[hist[d]!]!.group === items[i]!.group).length;
            });
          });
        });
      }
    });
  }
  return { hits, k } as Scored;
}

const { values } = parseArgs({ options: { eval: { type: 'string', default: DEV_AND_PUBLIC_EVAL_SETS } } });
const [devFile, pubFile] = values.eval.split(',');
const dev = readEvalSet(devFile!);
const pub = readEvalSet(pubFile ?? devFile!);
const FOLDS = 6;
const gi = new Map(dev.groups.map((g, i) => [g.group, i]));
const foldOf = dev.items.map((it) => Math.floor((gi.get(it.group)! * FOLDS) / dev.groups.length));
const sum = (xs: Uint8Array, only: (i: number) => boolean) => xs.reduce((s, x, i) => s + (only(i) ? x : 0), 0);
const slots = (k: number[]) => k.reduce((s, x) => s + x, 0);
function cv(ws: Uint8Array[]) {
  let h = 0;
  const picks: number[] = [];
  for (let f = 0; f < FOLDS; f++) {
    let b = 0;
    ws.forEach((x, wi) => {
      if (sum(x, (i) => foldOf[i] !== f) > sum(ws[b]!, (i) => foldOf[i] !== f)) b = wi;
    });
    picks.push(WEIGHTS[b]!);
    h += sum(ws[b]!, (i) => foldOf[i] === f);
  }
  let best = 0;
  ws.forEach((x, wi) => {
    if (sum(x, () => true) > sum(ws[best]!, () => true)) best = wi;
  });
  return { h, picks, best };
}
const worlds = ['new-wording', 'included'];
const R: Record<string, { d: Scored; p: Scored }> = {};
for (const w of worlds) R[w] = { d: await scoreSet(dev, w), p: await scoreSet(pub, w) };
await embedder.close();
console.log('| vectors | lexical | fusion | new: CV | new: picks | new: dev@0.5 | incl: CV | incl: picks | incl dev@0.5 | pub new / incl at new best w |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
VECS.forEach((vn, vi) =>
  LEXES.forEach((l, li) =>
    FUSIONS.forEach((f, fi) => {
      const c = li * FUSIONS.length + fi;
      const cols = worlds.map((w) => {
        const d = R[w]!.d;
        const r = cv(d.hits[vi]![c]!);
        return { r, cv: r.h / slots(d.k), at5: sum(d.hits[vi]![c]![10]!, () => true) / slots(d.k) };
      });
      const bw = cols[0]!.r.best;
      const pubs = worlds.map((w) => (sum(R[w]!.p.hits[vi]![c]![bw]!, () => true) / slots(R[w]!.p.k)).toFixed(3));
      console.log(`| ${vn} | ${l.name} | ${f} | ${cols.map((x) => `${x.cv.toFixed(3)} | ${x.r.picks.join(' ')} | ${x.at5.toFixed(3)}`).join(' | ')} | ${pubs.join(' / ')} |`);
    }),
  ),
);

// Paired bootstrap over dev groups (both worlds' queries of a group together) of CV(a) − CV(b).
function cvPerQuery(d: Scored, vi: number, c: number) {
  const out = new Uint8Array(dev.items.length);
  const ws = d.hits[vi]![c]!;
  for (let f = 0; f < FOLDS; f++) {
    let b = 0;
    ws.forEach((x, wi) => {
      if (sum(x, (i) => foldOf[i] !== f) > sum(ws[b]!, (i) => foldOf[i] !== f)) b = wi;
    });
    ws[b]!.forEach((h, i) => {
      if (foldOf[i] === f) out[i] = h;
    });
  }
  return out;
}
const cand = (v: Vec, l: string, f: Fusion) => [VECS.indexOf(v), LEXES.findIndex((x) => x.name === l) * FUSIONS.length + FUSIONS.indexOf(f)] as const;
function compare(a: readonly [number, number], b: readonly [number, number], label: string) {
  const pa = worlds.map((w) => cvPerQuery(R[w]!.d, a[0], a[1]));
  const pb = worlds.map((w) => cvPerQuery(R[w]!.d, b[0], b[1]));
  const byGroup = dev.groups.map((g) => dev.items.flatMap((it, i) => (it.group === g.group ? [i] : [])));
  let seed = 5;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const diffs: number[][] = [[], [], []];
  for (let n = 0; n < 5000; n++) {
    const d = [0, 0];
    let s = 0;
    for (let j = 0; j < byGroup.length; j++)
      for (const i of byGroup[Math.floor(rnd() * byGroup.length)]!) {
        for (let w = 0; w < 2; w++) d[w]! += pa[w]![i]! - pb[w]![i]!;
        s += R['new-wording']!.d.k[i]!;
      }
    diffs[0]!.push(d[0]! / s);
    diffs[1]!.push(d[1]! / s);
    diffs[2]!.push((d[0]! + d[1]!) / (2 * s));
  }
  const ci = (xs: number[]) => {
    xs.sort((x, y) => x - y);
    return `[${xs[125]!.toFixed(3)}, ${xs[4875]!.toFixed(3)}]`;
  };
  const mean2 = (w: number) => ((sum(pa[w]!, () => true) - sum(pb[w]!, () => true)) / slots(R['new-wording']!.d.k)).toFixed(3);
  console.log(`${label}: CV difference new ${mean2(0)} ${ci(diffs[0]!)}, included ${mean2(1)} ${ci(diffs[1]!)}, both ${ci(diffs[2]!)}`);
}
console.log('\npaired bootstrap over dev groups, 95% intervals:');
compare(cand('raw', 'bm25+lexicon', 'linear/norm'), cand('raw', 'bm25', 'linear/norm'), 'lexicon vs none (raw vectors, linear/norm)');
compare(cand('raw', 'bm25+lexicon-unseen', 'linear/norm'), cand('raw', 'bm25', 'linear/norm'), 'lexicon without the 3 classes vs none');
compare(cand('lexicon words rewritten', 'bm25+lexicon', 'linear/norm'), cand('raw', 'bm25+lexicon', 'linear/norm'), 'embedded text with lexicon words rewritten vs as written (lexicon)');
compare(cand('lexicon words rewritten', 'bm25', 'linear/norm'), cand('raw', 'bm25', 'linear/norm'), 'embedded text with lexicon words rewritten vs as written (no lexicon in BM25)');
compare(cand('query "task: "', 'bm25+lexicon', 'linear/norm'), cand('raw', 'bm25+lexicon', 'linear/norm'), 'query prefixed "task: " vs bare (lexicon)');
compare(cand('abtt-bg-2', 'bm25+lexicon', 'linear/norm'), cand('raw', 'bm25+lexicon', 'linear/norm'), 'abtt-bg-2 vs raw (lexicon)');
compare(cand('center-bg', 'bm25+lexicon', 'linear/norm'), cand('raw', 'bm25+lexicon', 'linear/norm'), 'center-bg vs raw (lexicon)');
compare(cand('center-hist', 'bm25+lexicon', 'linear/norm'), cand('raw', 'bm25+lexicon', 'linear/norm'), 'center-hist vs raw (lexicon)');
compare(cand('mean2', 'bm25+lexicon', 'linear/norm'), cand('raw', 'bm25+lexicon', 'linear/norm'), 'mean2 vs raw (lexicon)');
compare(cand('raw', 'bm25+lexicon', 'z'), cand('raw', 'bm25+lexicon', 'linear/norm'), 'z-score fusion vs linear/norm (lexicon)');
compare(cand('raw', 'bm25 +bigrams', 'linear/norm'), cand('raw', 'bm25', 'linear/norm'), 'bigrams vs none');
compare(cand('raw', 'bm25 k1 .9 b .4', 'linear/norm'), cand('raw', 'bm25', 'linear/norm'), 'k1 .9 b .4 vs 1.2/.75');
compare(cand('center-bg+prf', 'bm25+lexicon', 'linear/norm'), cand('center-bg', 'bm25+lexicon', 'linear/norm'), 'PRF vs none (center-bg, lexicon)');
