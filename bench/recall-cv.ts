// npm run bench:recall-cv [-- --eval DEV[,PUBLIC] --folds 6 --world new-wording|included]
// Chooses the ranking of `similar` by cross-validation over GROUPS of the dev set, and reports
// what the choice is worth on groups it was not chosen on. Every text is a query, never in the index;
// recall@k, k = group size − 1, in rounds as a new wording arrives: in round r the history is every
// group's other wordings, and each group's r-th wording asks for its k siblings. Vectors: the offline USE-lite model, int8 as stored, cosine as
// usearch computes it; lexical scores from the shipped LexicalIndex. Candidates:
//   embedded content: what a stored vector is of (the query is the bare description);
//   analyzer: Porter (`stemmer`) or Porter2 (`wink-porter2-stemmer`), `stopword`'s English list;
//     Porter2 then the domain lexicon (src/query/lexicon.ts: auth = authentication, db = database, ...);
//   WordNet expansion: query words' synonyms (first sense) added at weight a (0 = none);
//   fusion: linear, (1 − w)·cosine + w·BM25/max BM25 or w·BM25/BM25(query as a doc) (self-normalized,
//   shipped); or reciprocal rank, (1 − w)/(k + rank_cos)
//   + w/(k + rank_BM25), k 10 or 60.
// --world included: every text is in the history too (a verbatim repeat of the query exists), and
// its own row is dropped from the answer.
// Folds are blocks of consecutive groups (the dev set's near-miss pairs stay in one fold). In
// each fold every candidate is scored on the other folds' queries, the best is applied to the
// fold's own queries; ties go to the earlier candidate (no expansion before expansion, smaller w
// first). Then the choice on all dev groups, and its recall on the public set (never tuned on).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stemmer as porter } from 'stemmer';
import { groupTaskType, readEvalSet, type EvalSet, DEV_AND_PUBLIC_EVAL_SETS } from './eval-set.js';
import { OnnxEmbedder } from '../src/embed/embedder.js';
import { readModelDir } from '../src/embed/model.js';
import { buildOfflineModel } from '../src/embed/offline/index.js';
import { quantize } from '../src/embed/quantize.js';
import { DEFAULT_ANALYZER, LexicalIndex, PORTER2_ANALYZER, tokenize, type Analyzer } from '../src/query/lexical-index.js';
import { WordNet } from './wordnet.js';

const { values } = parseArgs({
  options: {
    /** DEV[,PUBLIC]: the set that chooses, and the one only reported (optional). */
    eval: { type: 'string', default: DEV_AND_PUBLIC_EVAL_SETS },
    folds: { type: 'string', default: '6' },
    world: { type: 'string', default: 'new-wording' },
  },
});
const FOLDS = Number(values.folds);
/** 'new-wording': the query is not in the history (the default); 'included': it is, and its own row is dropped from the answer. */
const WORLD = values.world;
/** similar's default limit. */
const LIMIT = 10;

const CONTENTS: [string, (text: string, type: string) => string][] = [
  ['description', (t) => t],
  ['description + task type (": ")', (t, type) => `${type}: ${t}`],
  ['description + task type ("()")', (t, type) => `${t} (${type})`],
];
const ANALYZERS: [string, Analyzer][] = [
  ['porter', { stopwords: DEFAULT_ANALYZER.stopwords, stem: (w) => (/\d/.test(w) ? w : porter(w)) }],
  ['porter2', PORTER2_ANALYZER],
  ['porter2 + lexicon', DEFAULT_ANALYZER],
];
const EXPANSION = [0, 0.25, 0.5];
const WEIGHTS = Array.from({ length: 21 }, (_, i) => i / 20);
type Fusion = { name: string; score: (cos: number, bm: number, cosRank: number, bmRank: number, max: number, w: number, self?: number) => number };
const FUSIONS: Fusion[] = [
  { name: 'linear', score: (c, b, _cr, _br, max, w) => (1 - w) * c + (max > 0 ? (w * b) / max : 0) },
  // The same blend, BM25 divided by the query's score against itself (LexicalQuery.norm) instead of the best doc's.
  { name: 'linear, self-normalized', score: (c, b, _cr, _br, _max, w, self = 0) => (1 - w) * c + (self > 0 ? (w * b) / self : 0) },
  { name: 'rrf k10', score: (_c, b, cr, br, _m, w) => (1 - w) / (10 + cr) + (b > 0 ? w / (10 + br) : 0) },
  { name: 'rrf k60', score: (_c, b, cr, br, _m, w) => (1 - w) / (60 + cr) + (b > 0 ? w / (60 + br) : 0) },
];

interface Family {
  content: number;
  analyzer: number;
  expansion: number;
  fusion: number;
}
const families: Family[] = [];
for (let content = 0; content < CONTENTS.length; content++)
  for (let analyzer = 0; analyzer < ANALYZERS.length; analyzer++)
    for (let expansion = 0; expansion < EXPANSION.length; expansion++)
      for (let fusion = 0; fusion < FUSIONS.length; fusion++) families.push({ content, analyzer, expansion, fusion });
const familyName = (f: Family) => `${CONTENTS[f.content]![0]} | ${ANALYZERS[f.analyzer]![0]} | wordnet ${EXPANSION[f.expansion]} | ${FUSIONS[f.fusion]!.name}`;

const built = await buildOfflineModel(join(tmpdir(), 'orb-learn-recall-offline', 'use-lite'), { model: 'use-lite' });
const embedder = await OnnxEmbedder.load((await readModelDir(built.dir, 'offline'))!, { threads: 1 });
const wordnet = WordNet.get();

/** int8 codes and their norms, as the index stores and compares them. */
async function codes(texts: string[]) {
  const { vectors } = await embedder.embed(texts);
  return vectors.map((v) => {
    const q = quantize(v).values;
    let n = 0;
    for (const x of q) n += x * x;
    return { q, norm: Math.sqrt(n) };
  });
}
const cosine = (a: { q: Int8Array; norm: number }, b: { q: Int8Array; norm: number }) => {
  let d = 0;
  for (let i = 0; i < a.q.length; i++) d += a.q[i]! * b.q[i]!;
  return d / (a.norm * b.norm);
};

/** For one set: per family and weight, how many of each query's k slots hold its group. hits[family][w][query]. */
async function scoreSet(set: EvalSet): Promise<{ hits: Uint8Array[][]; k: number[]; answers: { cos: number; same: boolean }[][][][] }> {
  const { items, groups } = set;
  const size = new Map(groups.map((g) => [g.group, g.texts.length]));
  const k = items.map((it) => size.get(it.group)! - 1);
  const queries = await codes(items.map((i) => i.text));
  const docs = await Promise.all(CONTENTS.map(([, f]) => codes(items.map((i) => f(i.text, groupTaskType(i.group))))));
  // Round r: the history holds every wording but the r-th of each group; the r-th wordings are the queries.
  const position = items.map((it) => groups.find((g) => g.group === it.group)!.texts.indexOf(it.text));
  const rounds = Math.max(...position) + 1;
  const history = Array.from({ length: rounds }, (_, r) => [...items.keys()].filter((j) => WORLD === 'included' || position[j] !== r));
  const lexicalIndexes = ANALYZERS.map(([, a]) =>
    history.map((docsOf) => {
      const lex = new LexicalIndex(1.2, 0.75, a);
      docsOf.forEach((j, d) => lex.add(d, items[j]!.text));
      return lex;
    }),
  );
  const hits = families.map(() => WEIGHTS.map(() => new Uint8Array(items.length)));
  // The first LIMIT rows of each answer, as similar returns them by default: their cosine, and whether of the query's group.
  const answers = families.map(() => WEIGHTS.map(() => new Array<{ cos: number; same: boolean }[]>(items.length)));
  const rank = (xs: Float64Array) => {
    const out = new Float64Array(xs.length);
    [...xs.keys()].sort((a, b) => xs[b]! - xs[a]! || a - b).forEach((d, r) => (out[d] = r + 1));
    return out;
  };
  families.forEach((f, fi) => {
    const analyzer = ANALYZERS[f.analyzer]![1];
    items.forEach((it, i) => {
      const docsOf = history[position[i]!]!;
      const lex = lexicalIndexes[f.analyzer]![position[i]!]!;
      const cos = Float64Array.from(docsOf, (j) => cosine(queries[i]!, docs[f.content]![j]!));
      const terms = new Map<string, number>();
      for (const t of tokenize(it.text, analyzer)) terms.set(t, 1);
      const a = EXPANSION[f.expansion]!;
      if (a > 0)
        for (const word of it.text.toLowerCase().split(/[^\p{L}\p{N}]+/u))
          if (word.length > 1 && !analyzer.stopwords.has(word))
            for (const syn of wordnet.synonyms(word)) for (const t of tokenize(syn, analyzer)) if (!terms.has(t)) terms.set(t, a);
      const lq = lex.queryTerms([...terms].map(([term, weight]) => ({ term, weight })));
      const bm = Float64Array.from(docsOf, (_, d) => lq.score(d));
      const self = lq.norm;
      const cosRank = rank(cos);
      const bmRank = rank(bm);
      const fusion = FUSIONS[f.fusion]!;
      WEIGHTS.forEach((w, wi) => {
        const top = [...docsOf.keys()]
          .filter((d) => docsOf[d] !== i)
          .map((d) => ({ d, s: fusion.score(cos[d]!, bm[d]!, cosRank[d]!, bmRank[d]!, lq.max, w, self) }))
          .sort((x, y) => y.s - x.s || cos[y.d]! - cos[x.d]!)
          .slice(0, Math.max(k[i]!, LIMIT));
        hits[fi]![wi]![i] = top.slice(0, k[i]).filter((t) => items[docsOf[t.d]!]!.group === it.group).length;
        answers[fi]![wi]![i] = top.slice(0, LIMIT).map((t) => ({ cos: cos[t.d]!, same: items[docsOf[t.d]!]!.group === it.group }));
      });
    });
  });
  return { hits, k, answers };
}

const [devFile, publicFile] = values.eval.split(',');
const dev = readEvalSet(devFile!);
// Without a public set, the dev set stands in (its figures are then in-sample, and say so).
const pub = readEvalSet(publicFile ?? devFile!);
const t0 = performance.now();
const D = await scoreSet(dev);
const P = await scoreSet(pub);
await embedder.close();
const slots = (k: number[], only: (i: number) => boolean) => k.reduce((s, x, i) => s + (only(i) ? x : 0), 0);
const sumHits = (xs: Uint8Array, only: (i: number) => boolean) => xs.reduce((s, x, i) => s + (only(i) ? x : 0), 0);
const all = () => true;
const groupIndex = new Map(dev.groups.map((g, i) => [g.group, i]));
const foldOf = dev.items.map((it) => Math.floor((groupIndex.get(it.group)! * FOLDS) / dev.groups.length));

/** Cross-validated recall of choosing among `cands` ([family, weight] pairs) fold by fold. */
function crossValidate(cands: [number, number][]) {
  let hits = 0;
  const picks: string[] = [];
  const perQuery = new Uint8Array(dev.items.length);
  for (let fold = 0; fold < FOLDS; fold++) {
    const train = (i: number) => foldOf[i] !== fold;
    let best = cands[0]!;
    let bestHits = -1;
    for (const c of cands) {
      const h = sumHits(D.hits[c[0]]![c[1]]!, train);
      if (h > bestHits) [best, bestHits] = [c, h];
    }
    picks.push(`${best[0]}:${WEIGHTS[best[1]]}`);
    hits += sumHits(D.hits[best[0]]![best[1]]!, (i) => !train(i));
    D.hits[best[0]]![best[1]]!.forEach((h, i) => {
      if (!train(i)) perQuery[i] = h;
    });
  }
  return { recall: hits / slots(D.k, all), hits, picks, perQuery };
}

const f3 = (x: number) => x.toFixed(3);

/** 95% bootstrap interval (dev groups resampled) of recall(a) − recall(b), per-query hits. */
function bootstrapDiff(a: Uint8Array, b: Uint8Array, rounds = 5000): [number, number] {
  let seed = 5;
  const r = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const byGroup = dev.groups.map((g) => dev.items.flatMap((it, i) => (it.group === g.group ? [i] : [])));
  const diffs: number[] = [];
  for (let n = 0; n < rounds; n++) {
    let d = 0;
    let s = 0;
    for (let j = 0; j < byGroup.length; j++)
      for (const i of byGroup[Math.floor(r() * byGroup.length)]!) {
        d += a[i]! - b[i]!;
        s += D.k[i]!;
      }
    diffs.push(d / s);
  }
  diffs.sort((x, y) => x - y);
  return [diffs[Math.floor(0.025 * rounds)]!, diffs[Math.floor(0.975 * rounds)]!];
}
console.log(`# recall@k (k = group size − 1) of similar's ranking; dev ${dev.groups.length} groups / ${dev.items.length} texts (${slots(D.k, all)} slots), public ${pub.groups.length} groups / ${pub.items.length} texts (${slots(P.k, all)} slots); ${FOLDS}-fold CV over dev groups; ${((performance.now() - t0) / 1000).toFixed(0)} s`);
console.log('\n| content | analyzer | wordnet a | fusion | vector only | best w on all dev | dev at that w | CV (w chosen per fold) | fold picks of w |\n|---|---|---|---|---|---|---|---|---|');
const familyCv: number[] = [];
const familyPerQuery: Uint8Array[] = [];
families.forEach((f, fi) => {
  const cv = crossValidate(WEIGHTS.map((_, wi) => [fi, wi]));
  familyCv.push(cv.hits);
  familyPerQuery.push(cv.perQuery);
  let best = 0;
  WEIGHTS.forEach((_, wi) => {
    if (sumHits(D.hits[fi]![wi]!, all) > sumHits(D.hits[fi]![best]!, all)) best = wi;
  });
  const [c, a, e, fu] = familyName(f).split(' | ');
  console.log(
    `| ${c} | ${a} | ${e!.replace('wordnet ', '')} | ${fu} | ${f3(sumHits(D.hits[fi]![0]!, all) / slots(D.k, all))} | ${WEIGHTS[best]} | ${f3(sumHits(D.hits[fi]![best]!, all) / slots(D.k, all))} | ${f3(cv.recall)} | ${cv.picks.map((p) => p.split(':')[1]).join(' ')} |`,
  );
});
const everything: [number, number][] = families.flatMap((_, fi) => WEIGHTS.map((_, wi) => [fi, wi] as [number, number]));
const cvAll = crossValidate(everything);
console.log(`\nCV of the whole choice (content, analyzer, expansion, fusion and w chosen per fold): ${f3(cvAll.recall)} (${cvAll.hits}/${slots(D.k, all)}); picks: ${cvAll.picks.map((p) => `${familyName(families[Number(p.split(':')[0])]!)} w ${p.split(':')[1]}`).join('; ')}`);
let best: [number, number] = everything[0]!;
for (const c of everything) if (sumHits(D.hits[c[0]]![c[1]]!, all) > sumHits(D.hits[best[0]]![best[1]]!, all)) best = c;
console.log(`chosen on all dev groups: ${familyName(families[best[0]]!)} w ${WEIGHTS[best[1]]}: dev ${f3(sumHits(D.hits[best[0]]![best[1]]!, all) / slots(D.k, all))} (in-sample); public ${f3(sumHits(P.hits[best[0]]![best[1]]!, all) / slots(P.k, all))}`);
// What ships: the family with the best CV (ties: the earlier, simpler one), at its best w on all
// dev groups; WordNet expansion only if its best family beats the best without it with a 95%
// bootstrap interval (groups resampled) of the CV difference above zero.
const bestOf = (only: (f: Family) => boolean) => families.reduce((b, f, fi) => (only(f) && (b < 0 || familyCv[fi]! > familyCv[b]!) ? fi : b), -1);
const plain = bestOf((f) => f.expansion === 0);
const expanded = bestOf((f) => f.expansion > 0);
const [lo, hi] = bootstrapDiff(familyPerQuery[expanded]!, familyPerQuery[plain]!);
console.log(
  `WordNet expansion: best family with it ${familyName(families[expanded]!)} CV ${f3(familyCv[expanded]! / slots(D.k, all))}, without ${familyName(families[plain]!)} CV ${f3(familyCv[plain]! / slots(D.k, all))}; ` +
    `difference ${f3((familyCv[expanded]! - familyCv[plain]!) / slots(D.k, all))}, 95% interval [${f3(lo)}, ${f3(hi)}] → ${lo > 0 ? 'kept' : 'not kept'}`,
);
const shipFamily = lo > 0 ? expanded : plain;
let shipW = 0;
WEIGHTS.forEach((_, wi) => {
  if (sumHits(D.hits[shipFamily]![wi]!, all) > sumHits(D.hits[shipFamily]![shipW]!, all)) shipW = wi;
});
console.log(
  `shipped (best CV of a fixed family, w chosen on all dev groups): ${familyName(families[shipFamily]!)} w ${WEIGHTS[shipW]}: CV ${f3(familyCv[shipFamily]! / slots(D.k, all))}, dev ${f3(sumHits(D.hits[shipFamily]![shipW]!, all) / slots(D.k, all))} (in-sample), public ${f3(sumHits(P.hits[shipFamily]![shipW]!, all) / slots(P.k, all))}`,
);
const arg = process.env.SHOW;
if (arg) {
  // SHOW="family,w": that candidate's dev and public recall (e.g. the shipped default).
  const [fi, w] = arg.split(',').map(Number) as [number, number];
  const wi = WEIGHTS.indexOf(w);
  console.log(`${familyName(families[fi]!)} w ${w}: dev ${f3(sumHits(D.hits[fi]![wi]!, all) / slots(D.k, all))}, public ${f3(sumHits(P.hits[fi]![wi]!, all) / slots(P.k, all))}`);
}

// The default threshold (on the cosine), for the ranking chosen above. A threshold should cut
// unrelated rows without hiding paraphrases, so the rule is: the highest threshold that keeps 98%
// of the same-group rows among the first k (what no threshold finds), chosen fold by fold as
// above. For comparison, the threshold of the best F1 of same-group rows in the default answer
// (limit 10; relevant = the k siblings); per threshold, the recall@k it leaves and how many
// queries it empties.
const THRESHOLDS = Array.from({ length: 41 }, (_, i) => Math.round((i * 0.02 - 0.1) * 100) / 100);
const [bf, bw] = [shipFamily, shipW];
function atThreshold(set: typeof D, t: number, only: (i: number) => boolean) {
  let tp = 0;
  let returned = 0;
  let relevant = 0;
  let recallHits = 0;
  let empty = 0;
  let n = 0;
  set.answers[bf]![bw]!.forEach((rows, i) => {
    if (!only(i)) return;
    n++;
    const kept = rows.filter((r) => r.cos >= t);
    tp += kept.filter((r) => r.same).length;
    returned += kept.length;
    relevant += set.k[i]!;
    recallHits += kept.slice(0, set.k[i]).filter((r) => r.same).length;
    if (kept.length === 0) empty++;
  });
  return { f1: (2 * tp) / (returned + relevant), precision: returned ? tp / returned : 0, recall: recallHits / relevant, empty, n };
}
let cvF1Hits = 0;
const tPicks: number[] = [];
for (let fold = 0; fold < FOLDS; fold++) {
  const train = (i: number) => foldOf[i] !== fold;
  let bt = THRESHOLDS[0]!;
  for (const t of THRESHOLDS) if (atThreshold(D, t, train).f1 > atThreshold(D, bt, train).f1) bt = t;
  tPicks.push(bt);
  cvF1Hits += atThreshold(D, bt, (i) => !train(i)).recall * slots(D.k, (i) => !train(i));
}
const keeps = (t: number, only: (i: number) => boolean) => atThreshold(D, t, only).recall >= 0.98 * atThreshold(D, -1, only).recall;
let keepHits = 0;
const keepPicks: number[] = [];
for (let fold = 0; fold < FOLDS; fold++) {
  const train = (i: number) => foldOf[i] !== fold;
  const t = Math.max(...THRESHOLDS.filter((x) => keeps(x, train)));
  keepPicks.push(t);
  keepHits += atThreshold(D, t, (i) => !train(i)).recall * slots(D.k, (i) => !train(i));
}
const chosenT = Math.max(...THRESHOLDS.filter((x) => keeps(x, all)));
let f1T = THRESHOLDS[0]!;
for (const t of THRESHOLDS) if (atThreshold(D, t, all).f1 > atThreshold(D, f1T, all).f1) f1T = t;
console.log(`
## similar's default threshold, for ${familyName(families[bf]!)} w ${WEIGHTS[bw]} (answers of ${LIMIT} rows)`);
console.log('| threshold | dev F1 | dev precision | dev recall@k | dev queries answered nothing | public recall@k | public answered nothing |\n|---|---|---|---|---|---|---|');
for (const t of THRESHOLDS.filter((t) => Math.round(t * 100) % 10 === 0 || t === chosenT || t === f1T || tPicks.includes(t) || keepPicks.includes(t))) {
  const d = atThreshold(D, t, all);
  const p = atThreshold(P, t, all);
  console.log(`| ${t}${t === chosenT ? ' (chosen: keeps 98%)' : ''}${t === f1T ? ' (best F1)' : ''} | ${f3(d.f1)} | ${f3(d.precision)} | ${f3(d.recall)} | ${d.empty}/${d.n} | ${f3(p.recall)} | ${p.empty}/${p.n} |`);
}
console.log(`fold picks, keeps-98% rule: ${keepPicks.join(' ')}, CV recall@k at the picks ${f3(keepHits / slots(D.k, all))}; best-F1 rule: ${tPicks.join(' ')}, CV recall@k ${f3(cvF1Hits / slots(D.k, all))}`);
