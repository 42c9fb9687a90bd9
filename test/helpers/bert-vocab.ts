// The generated WordPiece vocabulary of the synthetic BERT models (see bert-onnx.ts): special
// tokens, single characters, common suffix pieces, software-engineering and common English
// words, then generated letter pieces up to the requested size. Independent of the model seed,
// so every model of one vocabulary size shares one tokenizer.

/** Most frequent English words first: they survive even in a tiny vocabulary. */
const FUNCTION_WORDS = `the of and to a in is it that for on with as was be by this are at from or an
not but have has had were which you all can will one they we he she his her their there been would
if so no do does did up out about into than then them these those some its our your my me us him
what when where who why how more most other only also just over after before any each new may
should could must very such through because while both between same own under again off down here
make made use used using get got set run add remove update change create delete check build need`;

/** Words of task descriptions and agent transcripts, so realistic sentences stay whole. */
const SOFTWARE_WORDS = `refactor test tests fix fixes fixed flaky migration migrations database auth authentication
authorization middleware api endpoint endpoints server client request response handler handlers
route routes router service services module modules function functions method methods class classes
interface type types schema schemas query queries index indexes table tables column columns row rows
cache caching config configuration deploy deployment release build ci pipeline job jobs worker workers
queue queues retry retries timeout timeouts error errors exception exceptions bug bugs crash crashes
leak memory performance latency throughput slow fast regression regressions integration unit e2e
coverage lint linter format formatter typescript javascript python rust go java sql json yaml http
https grpc rest graphql websocket token tokens session sessions cookie cookies login logout user users
password permission permissions role roles admin account accounts payment payments billing invoice
email notification notifications log logs logging metric metrics trace traces tracing span spans
telemetry monitoring alert alerts dashboard frontend backend ui ux component components page pages
form forms button modal layout style styles css html react vue angular node npm package packages
dependency dependencies upgrade downgrade version versions library libraries framework sdk cli
command commands script scripts file files directory path paths upload download storage bucket s3
docker container containers kubernetes cluster pod pods helm terraform infrastructure network dns
proxy load balancer ssl tls certificate certificates secret secrets key keys encryption hash
validation validate validator input output parse parser parsing serialize serialization encode
decode encoding stream streams buffer async await promise promises callback event events listener
thread threads concurrency race condition deadlock lock locks mutex transaction transactions commit
rollback branch merge rebase conflict conflicts repo repository pr review feature features flag
flags toggle experiment rollout canary staging production environment variable variables constant
refactoring cleanup dead code duplicate duplication readme docs documentation comment comments
changelog spec specs fixture fixtures mock mocks stub stubs snapshot snapshots assertion assertions
benchmark benchmarks profile profiling optimize optimization pagination search filter sort sorting
batch batching import export csv report reports schedule scheduler cron webhook webhooks sync
duckdb postgres mysql redis kafka sqlite orm model models embedding embeddings vector vectors
agent agents task tasks execution executions prompt prompts llm tool tools routing router tier
cost costs success failure failed failing pass passing passed broken stabilize flake deterministic
intermittent null undefined empty missing invalid incorrect wrong duplicate handling edge case cases
legacy deprecated rename move extract split inline simplify improve implement implementation support
add adds added adding remove removes removed removing update updates updated updating`;

/** More everyday English, roughly by frequency. */
const COMMON_WORDS = `time year people way day man thing woman life child world school state family
student group country problem hand part place week company system program question work government
number night point home water room mother area money story fact month lot right study book eye word
business issue side kind head house friend father power hour game line end member law car city
community name president team minute idea kid body information back parent face others level office
door health person art war history party result morning reason research girl guy moment air teacher
force education first last long great little good old big high different small large next early
young important few public bad able late hard major better best free sure real full simple clear
recent certain personal open whole short low single easy strong possible likely current past final
main available similar common local special general known ready quick quickly now even well still
too never always often sometimes already really almost together around against without within
during since until though although however therefore instead rather yet once twice every many
much several enough less least far near above below across along behind beyond toward upon per
go going goes went come came know knew think thought take took see saw want look looked give gave
find found tell told ask asked work worked seem seemed feel felt try tried leave left call called
keep kept let begin began help helped show showed hear heard play played move moved live lived
believe bring brought happen happened write wrote provide provided sit stand lose lost pay paid
meet met include included continue continued learn learned lead understand watch follow followed
stop stopped speak read allow allowed spend grow open opened walk win offer remember consider
appear buy wait serve die send expect stay fall cut reach kill raise pass sell require report
decide pull return explain hope develop carry break receive agree support hit produce eat cover
catch draw choose cause point start started finish finished save saved load loaded open close
closed start end begin ending beginning second third minute hour today yesterday tomorrow again
yes ok okay please thanks sorry hello world example examples value values result results data
list lists map maps item items text string strings number numbers true false default option
options case step steps state states status message messages order orders time times date dates`;

/** Continuation pieces: inflections and derivations. */
const SUFFIXES = `s es ed ing er ers est ly ion ions tion tions ation ations ment ments ness able ible al
ity ize ized izes izing ise ous ive ful less ic y en or ors ist ism ure ance ence ant ent age ary ory
ship ify ate ated ates ating ator ing ings ed d e re ize iz ization able ably ally ical ics ally ish`;

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const words = (s: string) => s.split(/\s+/).filter((w) => w.length > 0);

/** Plain (non-special) English words of the vocabulary, for sentence generators. */
export const VOCAB_WORDS: readonly string[] = [...new Set([...words(FUNCTION_WORDS), ...words(SOFTWARE_WORDS), ...words(COMMON_WORDS)])];
export const SOFTWARE_VOCAB_WORDS: readonly string[] = [...new Set(words(SOFTWARE_WORDS))];
export const FUNCTION_VOCAB_WORDS: readonly string[] = [...new Set(words(FUNCTION_WORDS))];

/**
 * The vocabulary, index = token id. [PAD] is always 0. A vocabulary of BERT size (≥ 30,000)
 * follows bert-base-uncased's layout ([PAD]=0, [unused0..98], [UNK]=100, [CLS]=101, [SEP]=102,
 * [MASK]=103); smaller ones put [UNK], [CLS], [SEP], [MASK] at 1–4.
 */
export function buildVocab(size: number): string[] {
  const vocab: string[] = [];
  const seen = new Set<string>();
  const push = (t: string) => {
    if (vocab.length < size && !seen.has(t)) {
      seen.add(t);
      vocab.push(t);
    }
  };
  if (size >= 30000) {
    push('[PAD]');
    for (let i = 0; i < 99; i++) push(`[unused${i}]`);
    for (const s of SPECIALS.slice(1)) push(s);
  } else {
    for (const s of SPECIALS) push(s);
  }
  const minimum = vocab.length + PUNCTUATION.length + 2 * 36;
  if (size < minimum) throw new Error(`vocabSize ${size} is too small: at least ${minimum} (specials, characters and ## characters)`);
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  for (const c of PUNCTUATION) push(c);
  for (const c of chars) push(c);
  for (const c of chars) push(`##${c}`);
  for (const s of words(SUFFIXES)) push(`##${s}`);
  for (const w of words(FUNCTION_WORDS)) push(w);
  for (const w of words(SOFTWARE_WORDS)) push(w);
  for (const w of words(COMMON_WORDS)) push(w);
  // Fill: every two-letter piece (start and continuation), then three-letter pieces in a fixed
  // pseudo-random order, so coverage is even whatever the size.
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (const a of letters) for (const b of letters) { push(a + b); push(`##${a}${b}`); }
  const tri: string[] = [];
  for (const a of letters) for (const b of letters) for (const c of letters) tri.push(a + b + c);
  const rnd = mulberry32(0x5eed);
  for (let i = tri.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [tri[i], tri[j]] = [tri[j]!, tri[i]!];
  }
  for (const t of tri) { push(t); push(`##${t}`); }
  for (let i = 0; vocab.length < size; i++) push(`[gen${i}]`);
  return vocab;
}
