import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ANALYZER, LexicalIndex, PORTER2_ANALYZER, stem, tokenize } from '../../src/query/lexical-index.js';
import { LEXICON, withLexicon } from '../../src/query/lexicon.js';
import { VectorIndex, type SearchOptions } from '../../src/query/vector-index.js';
import { mulberry32 } from '../../src/synth/generate.js';

describe('tokenizer and stemmer', () => {
  it('lowercases, splits on anything but letters and digits, drops stopwords and single letters', () => {
    const p2 = (text: string) => tokenize(text, PORTER2_ANALYZER);
    assert.deepEqual(p2('Fix the flaky CI tests: retrying failed jobs, N+1 queries in élan café!'), ['fix', 'flaki', 'ci', 'test', 'retri', 'fail', 'job', 'queri', 'élan', 'café']);
    assert.deepEqual(p2('  -- '), []);
    assert.deepEqual(p2('OAuth2 v1.2'), ['oauth2', 'v1']);
    // The default analyzer adds the lexicon on top: failed → broken (the class of failing, failure).
    assert.deepEqual(tokenize('Fix the flaky CI tests: retrying failed jobs, N+1 queries in élan café!'), ['fix', 'flaki', 'ci', 'test', 'retri', 'broken', 'job', 'queri', 'élan', 'café']);
  });

  it("drops the stopword package's English function words, and keeps task verbs", () => {
    assert.deepEqual(tokenize('Should we add it to all of their pages, or remove it?'), ['add', 'page', 'remov']);
    for (const w of ['the', 'with', 'should', 'because', 'through']) assert.ok(DEFAULT_ANALYZER.stopwords.has(w), w);
    for (const w of ['fix', 'add', 'remove', 'not', 'test']) assert.ok(!DEFAULT_ANALYZER.stopwords.has(w), w);
  });

  it('joins the forms of a word (Porter2), and leaves words with digits alone', () => {
    const same = (words: string[]) => assert.equal(new Set(words.map(stem)).size, 1, words.join(' '));
    same(['update', 'updates', 'updated', 'updating']);
    same(['test', 'tests', 'testing', 'tested']);
    same(['run', 'running']);
    same(['stop', 'stopped']);
    same(['query', 'queries']);
    same(['fix', 'fixes', 'fixed']);
    same(['migrate', 'migrating', 'migrated']);
    same(['generate', 'generated', 'generation']);
    same(['deliver', 'delivered', 'delivering']);
    for (const [w, s] of Object.entries({ falling: 'fall', passed: 'pass', status: 'status', http2: 'http2', v1: 'v1', thumbnails: 'thumbnail', throttling: 'throttl' }))
      assert.equal(stem(w), s, w);
  });
});

describe('the domain lexicon', () => {
  it('maps every word of a class, in any inflection, to one term', () => {
    const term = (text: string) => tokenize(text);
    for (const t of ['auth', 'authentication', 'authenticate', 'authenticating', 'login', 'logins', 'SSO']) assert.deepEqual(term(t), ['authent'], t);
    for (const t of ['db', 'DB', 'database', 'databases']) assert.deepEqual(term(t), ['databas'], t);
    for (const t of ['deps', 'dependency', 'dependencies']) assert.deepEqual(term(t), ['depend'], t);
    for (const t of ['config', 'configuration', 'settings', 'setting']) assert.deepEqual(term(t), ['configur'], t);
    for (const t of ['test', 'tests', 'testing', 'spec', 'specs']) assert.deepEqual(term(t), ['test'], t);
    for (const t of ['k8s', 'kubernetes', 'kube']) assert.deepEqual(term(t), ['kubernet'], t);
    // "e-mail" is split in two; "mail" is in the class, the single letter is dropped.
    assert.deepEqual(term('e-mail the admins'), ['email', 'administr']);
    // Words outside the lexicon keep their Porter2 stem, also where it is a lexicon word's stem:
    // "=settings" is mapped in that form only, so "set" (its stem) stays itself.
    assert.deepEqual(term('refactoring middleware'), ['refactor', 'middlewar']);
    for (const [mapped, unmapped, alone] of [['settings', 'set', 'set'], ['customers', 'custom', 'custom'], ['production', 'product', 'product'], ['paging', 'pages', 'page'], ['containers', 'contains', 'contain'], ['authorization', 'author', 'author']] as const) {
      assert.notDeepEqual(term(mapped), [alone], mapped);
      assert.deepEqual(term(unmapped), [alone], unmapped);
    }
    assert.deepEqual(term('customers users'), ['user', 'user']);
  });

  it('holds no stopword and no stem in two classes, and every class word reaches its class', () => {
    for (const cls of LEXICON) {
      const head = PORTER2_ANALYZER.stem(cls[0]!.replace(/^=/, ''));
      for (const w of cls) {
        const word = w.replace(/^=/, '');
        assert.ok(!PORTER2_ANALYZER.stopwords.has(word), word);
        assert.deepEqual(tokenize(word), [head.replace(/^=/, '')], `${word} → ${head}`);
      }
    }
    assert.throws(() => withLexicon(PORTER2_ANALYZER, [['database', 'db'], ['debug', 'db']]), /"db" \(db\) is in two classes, databas and debug/);
    assert.throws(() => withLexicon(PORTER2_ANALYZER, [['the', 'a']]), /"the" is a stopword/);
  });

  it('lets BM25 match across a class: a query for "db auth" finds "database login"', () => {
    const lex = new LexicalIndex();
    lex.add(0, 'Rotate the database login secret');
    lex.add(1, 'Rotate the cache key');
    const q = lex.query('db auth');
    assert.deepEqual([...q.matched], [0]);
    // Both query terms match doc 0 once: idf of df 1 in 2 docs, doc length 4 against avgdl 3.5.
    const idf = Math.log(1 + (2 - 1 + 0.5) / (1 + 0.5));
    const tf = (2.2 * 1) / (1 + 1.2 * (1 - 0.75 + (0.75 * 4) / 3.5));
    assert.ok(Math.abs(q.score(0) - 2 * idf * tf) < 1e-5, String(q.score(0)));
    const plain = new LexicalIndex(1.2, 0.75, PORTER2_ANALYZER);
    plain.add(0, 'Rotate the database login secret');
    assert.equal(plain.query('db auth').matched.length, 0);
  });
});

describe('BM25 over an incrementally built index', () => {
  // Stemmed: refactor auth middlewar | fix flaki test | auth test flaki flaki.
  const build = () => {
    const lex = new LexicalIndex();
    lex.add(0, 'Refactor the auth middleware');
    lex.add(1, 'Fix flaky tests');
    lex.add(2, 'auth tests: flaky, flaky');
    return lex;
  };

  it('scores as computed by hand (k1 1.2, b 0.75, Lucene idf)', () => {
    const lex = build();
    // N = 3, avgdl = 10/3; df(flaky) = df(auth) = 2 → idf = ln(1 + 1.5/2.5) = ln 1.6.
    assert.ok(Math.abs(lex.idf('flaki') - Math.log(1.6)) < 1e-12);
    assert.ok(Math.abs(lex.idf('refactor') - Math.log(1 + 2.5 / 1.5)) < 1e-12);
    const bm25 = (tf: number, len: number) => (Math.log(1.6) * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * len) / (10 / 3)));
    const q = lex.query('flaky auth');
    assert.ok(Math.abs(q.score(0) - bm25(1, 3)) < 1e-6, `${q.score(0)}`);
    assert.ok(Math.abs(q.score(1) - bm25(1, 3)) < 1e-6);
    assert.ok(Math.abs(q.score(2) - (bm25(2, 4) + bm25(1, 4))) < 1e-6);
    // The same figures, written out (python, double precision).
    assert.ok(Math.abs(q.score(0) - 0.4900511774126154) < 1e-6);
    assert.ok(Math.abs(q.score(2) - 1.0462961802661024) < 1e-6);
    assert.equal(q.max, q.score(2));
    assert.deepEqual([...q.matched].sort(), [0, 1, 2]);
    // A repeated query word counts once; stopwords and unknown words add nothing to a doc's score.
    assert.equal(lex.query('flaky flaky the auth zebra').score(2), q.score(2));
    // norm: the query as a doc of its own (each distinct term once, length 2).
    const self = (Math.log(1.6) * 2 * 2.2) / (1 + 1.2 * (0.25 + (0.75 * 2) / (10 / 3)));
    assert.ok(Math.abs(q.norm - self) < 1e-9, `${q.norm} vs ${self}`);
    // An unknown word is a part of the query no doc has: it raises the norm by its idf share.
    const zebra = lex.query('flaky auth zebra');
    assert.ok(Math.abs(zebra.norm - (Math.log(1.6) * 2 + Math.log(1 + 3.5 / 0.5)) * 2.2 / (1 + 1.2 * (0.25 + (0.75 * 3) / (10 / 3)))) < 1e-9);
    assert.equal(lex.query('the of').norm, 0);
  });

  it('ranks best first, ties by lower doc, within a limit and a filter', () => {
    const q = build().query('flaky auth');
    assert.deepEqual(q.top(10).map((h) => h.doc), [2, 0, 1]);
    assert.deepEqual(q.top(2).map((h) => h.doc), [2, 0]);
    assert.deepEqual(q.top(10, (d) => d !== 2).map((h) => h.doc), [0, 1]);
    assert.deepEqual(q.top(0), []);
    const none = build().query('zebra');
    assert.equal(none.max, 0);
    assert.equal(none.matched.length, 0);
    assert.equal(none.score(0), 0);
  });

  it('takes rows as they land: statistics, new words, sparse doc numbers, an empty text', () => {
    const lex = build();
    const before = lex.idf('flaki');
    lex.add(10, 'deploy the service');
    assert.equal(lex.size, 4);
    assert.ok(lex.idf('flaki') > before, 'one more document without the word: it is rarer');
    assert.deepEqual(lex.query('deploying').top(5), [{ doc: 10, score: lex.query('deploying').score(10) }]);
    assert.equal(lex.query('flaky').score(5), 0, 'a number never added scores 0');
    lex.add(11, '');
    assert.equal(lex.size, 5, 'an empty description still counts as a document');
    assert.throws(() => lex.add(-1, 'x'), RangeError);
  });

  it('keeps long postings lists exact (a bare number, then an array, then a typed array)', () => {
    const lex = new LexicalIndex();
    for (let d = 0; d < 1000; d++) lex.add(d, d % 2 ? 'flaky test' : `flaky flaky test unique${d}`);
    const q = lex.query('flaky');
    assert.equal(q.matched.length, 1000);
    assert.ok(Math.abs(lex.idf('flaki') - Math.log(1 + 0.5 / 1000.5)) < 1e-12);
    const odd = new Set([...q.matched].filter((d) => d % 2).map((d) => q.score(d)));
    assert.equal(odd.size, 1, 'equal documents score equally');
    assert.equal(lex.query('unique998').top(5)[0]!.doc, 998);
    assert.equal(lex.query('unique998').matched.length, 1);
  });
});

describe('hybrid search in the vector index: exact under filters', () => {
  // 3,000 rows: 40 topics with duplicated vectors and shared words, 3 repos, a time axis.
  const DIM = 16;
  const rand = mulberry32(9);
  const words = ['auth', 'token', 'cache', 'flaky', 'test', 'deploy', 'schema', 'migration', 'readme', 'docs', 'leak', 'memory', 'queue', 'retry', 'index', 'query'];
  const topics = Array.from({ length: 40 }, () => ({
    v: Float32Array.from({ length: DIM }, () => rand() * 2 - 1),
    text: Array.from({ length: 3 + Math.floor(rand() * 4) }, () => words[Math.floor(rand() * words.length)]!).join(' '),
  }));
  const index = new VectorIndex('m', DIM);
  const rows: { id: string; repo: string; t: number; codes: Int8Array; text: string }[] = [];
  for (let n = 0; n < 3000; n++) {
    const topic = topics[Math.floor(rand() * topics.length)]!;
    const v = Float32Array.from(topic.v, (x) => x + (rand() < 0.5 ? 0 : 0.3 * (rand() - 0.5)));
    const max = Math.max(...v.map(Math.abs));
    const codes = Int8Array.from(v, (x) => Math.round((x / max) * 127));
    const row = { id: `t${n}`, repo: `r${n % 3}`, t: n, codes, text: rand() < 0.2 ? `${topic.text} ${words[n % words.length]}` : topic.text };
    rows.push(row);
    index.add({ task_id: row.id, repo: row.repo, timestampMs: row.t, model_tier: 'm', task_type: 't', success: true, quality_score: null, actual_cost: 0, scale: max / 127, values: codes, task_description: row.text });
  }

  /** Every row scored, filtered and sorted: what the search must equal. */
  function bruteForce(query: Float32Array, o: SearchOptions) {
    const qmax = Math.max(...query.map(Math.abs));
    const q = Int8Array.from(query, (x) => Math.round(x / (qmax / 127)));
    const lq = index.lexical!.query(o.lexical!.text);
    const w = o.lexical!.weight;
    return rows
      .map((r, doc) => {
        let dot = 0;
        let qq = 0;
        let vv = 0;
        for (let d = 0; d < DIM; d++) {
          dot += q[d]! * r.codes[d]!;
          qq += q[d]! * q[d]!;
          vv += r.codes[d]! * r.codes[d]!;
        }
        const sim = dot / Math.sqrt(qq * vv);
        return { id: r.id, r, sim, score: (1 - w) * sim + (lq.norm > 0 ? (w * lq.score(doc)) / lq.norm : 0) };
      })
      .filter((x) => (!o.repo || x.r.repo === o.repo) && (o.sinceMs == null || x.r.t >= o.sinceMs) && (o.threshold == null || x.sim >= o.threshold))
      .sort((a, b) => b.score - a.score);
  }

  it('returns the true top rows by the blended score, for any weight, filter and threshold (exact, and within the default lexical budget)', () => {
    let checked = 0;
    for (let k = 0; k < 120; k++) {
      const topic = topics[k % topics.length]!;
      const query = Float32Array.from(topic.v, (x) => x + 0.5 * (rand() - 0.5));
      const text = k % 3 ? topic.text : `${words[k % words.length]} ${words[(k * 7) % words.length]}`;
      const opts: SearchOptions = {
        limit: [1, 10, 50][k % 3]!,
        repo: k % 4 === 1 ? 'r1' : undefined,
        sinceMs: k % 5 === 2 ? 1500 : undefined,
        threshold: k % 6 === 3 ? 0.5 : k % 6 === 4 ? 0.9 : undefined,
        // Odd cases: unbounded lexical candidates (the rescan path); even: the default budget.
        lexical: { text, weight: [0.05, 0.1, 0.3, 0.7, 1][Math.floor(k / 2) % 5]!, candidates: k % 2 ? Infinity : undefined },
      };
      const want = bruteForce(query, opts);
      const got = index.search(query, opts);
      assert.equal(got.length, Math.min(opts.limit, want.length), `case ${k}: never fewer hits than exist`);
      got.forEach((h, i) => {
        assert.ok(Math.abs(h.score! - want[i]!.score) < 1e-5, `case ${k} rank ${i}: ${h.score} vs ${want[i]!.score}`);
        const row = rows[Number(h.task_id.slice(1))]!;
        assert.ok(Math.abs(h.similarity - want.find((x) => x.id === h.task_id)!.sim) < 1e-5, 'similarity is the cosine');
        assert.ok((!opts.repo || row.repo === opts.repo) && (opts.sinceMs == null || row.t >= opts.sinceMs));
      });
      checked += got.length;
    }
    assert.ok(checked > 1000);
  });

  it('weight 0 (or no text) is the cosine ranking, without a score', () => {
    const query = topics[3]!.v;
    const plain = index.search(query, { limit: 20 });
    assert.deepEqual(index.search(query, { limit: 20, lexical: { text: topics[3]!.text, weight: 0 } }), plain);
    assert.equal(plain[0]!.score, undefined);
    const nothing = index.search(query, { limit: 20, lexical: { text: 'zebra', weight: 0.5 } });
    assert.deepEqual(nothing.map((h) => h.task_id), plain.map((h) => h.task_id), 'no word in common: the order is the cosine order');
  });

  it('an index built without the lexical option refuses a hybrid search', () => {
    const bare = new VectorIndex('m', 2, { lexical: false });
    bare.add({ task_id: 'a', repo: 'r', timestampMs: 0, model_tier: 'm', task_type: 't', success: true, quality_score: null, actual_cost: 0, scale: 1, values: Int8Array.from([1, 2]) });
    assert.equal(bare.lexical, null);
    assert.throws(() => bare.search(Float32Array.from([1, 2]), { limit: 1, lexical: { text: 'a', weight: 0.5 } }), /no lexical index/);
    assert.equal(bare.search(Float32Array.from([1, 2]), { limit: 1 }).length, 1);
  });
});
