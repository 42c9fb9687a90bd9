// npm run bench:recall [-- --eval FILE[,FILE] --runs 1 --world new-wording|included|both --content task|review]
// Recall of the SERVED `similar`: a real `orb-learn serve` (in process, 127.0.0.1, a real DuckDB
// file, the offline USE-lite model) is sent the eval set as executions over OTLP gRPC by the
// OpenTelemetry SDK's exporter, embeds them, and is asked GET /v1/query/similar for texts.
// Two worlds:
//   new-wording: a new wording of a known task arrives. In round r the server holds every
//     group's other wordings (one server per round), and each group's r-th wording asks;
//   included: the server holds every text, each text asks, and its own executions (a verbatim
//     repeat) are dropped from the answer.
// recall@k, k = group size − 1: the share of the first k other texts that are of the query's
// group. With --runs N every text is run N times (each on its own tier, pool and outcome), and
// the k are the first k distinct texts. Reported with the server's default threshold (what a user
// gets) and with threshold −1 (the ranking alone).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { groupRepo, groupTaskType, readEvalSet } from './eval-set.js';
import { loadConfig } from '../src/config/config.js';
import { startServer } from '../src/server/server.js';
import { mulberry32 } from '../src/synth/generate.js';
import { createLogger } from '../src/telemetry/log.js';
import { tempDir } from '../test/helpers/server.js';
import { exportOk, makeExporter, makeSpans, minimalExecution } from '../test/helpers/spans.js';

const { values } = parseArgs({
  options: {
    eval: { type: 'string', default: '/work/shared/eval/similar-tasks-dev.jsonl,/work/shared/eval/similar-tasks.jsonl' },
    runs: { type: 'string', default: '1' },
    world: { type: 'string', default: 'both' },
    /** The server's embedContent: task (its default) or review. */
    content: { type: 'string', default: 'task' },
    seed: { type: 'string', default: '1' },
  },
});
const RUNS = Number(values.runs);
const TIERS = ['small', 'medium', 'large'];
const POOLS = ['local', 'cloud', 'gpu'];

interface Row {
  task_id: string;
  similarity: number;
  score?: number;
}

/** One server holding `history`, asked each of `queries`; hits and slots of the two thresholds. */
async function served(file: string, inHistory: (position: number) => boolean, asks: (position: number) => boolean) {
  const { groups, items: all } = readEvalSet(file);
  const position = (it: { group: string; text: string }) => groups.find((g) => g.group === it.group)!.texts.indexOf(it.text);
  const items = all.filter((it) => inHistory(position(it)));
  const queries = all.filter((it) => asks(position(it)));
  const dir = tempDir('orb-bench-recall-');
  const config = loadConfig({
    flags: { db: join(dir, 'recall.duckdb'), grpc: '127.0.0.1:0', http: '127.0.0.1:0', logLevel: 'silent', embed: true, archiveOlderThan: 'off', snapshotInterval: 0, embedContent: values.content },
  });
  const server = await startServer(config, createLogger('silent'));
  const base = `http://127.0.0.1:${server.httpPort}`;
  try {
    const rand = mulberry32(Number(values.seed));
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const exporter = makeExporter('grpc', { grpcUrl: `http://127.0.0.1:${server.grpcPort}`, httpUrl: base });
    const now = Date.now();
    const specs = items.flatMap((it, i) =>
      Array.from({ length: RUNS }, (_, r) => ({
        startMs: now - (items.length * RUNS - i * RUNS - r) * 60_000,
        endMs: now - (items.length * RUNS - i * RUNS - r) * 60_000 + 30_000,
        status: { code: rand() < 0.75 ? ('ok' as const) : ('error' as const) },
        attributes: minimalExecution({
          'execution.task_type': groupTaskType(it.group),
          'execution.task_description': it.text,
          'execution.repo': groupRepo(it.group),
          'execution.model_tier': RUNS > 1 ? TIERS[r % TIERS.length]! : pick(TIERS),
          'execution.pool_type': pick(POOLS),
        }),
      })),
    );
    await exportOk(exporter, makeSpans(specs));
    await exporter.shutdown();
    const embedding = await server.embedding();
    if (!embedding) throw new Error('embedding did not start');
    await embedding.indexer.idle();
    for (let c = await embedding.indexer.coverage(); c.missing > 0 || c.executions < specs.length; c = await embedding.indexer.coverage()) await new Promise((r) => setTimeout(r, 100));
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`);
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as { rows: Record<string, unknown>[]; notes: string[]; params: Record<string, unknown> };
    };
    const textOf = new Map((await get(`/v1/query/sql?query=${encodeURIComponent('SELECT task_id::VARCHAR AS task_id, task_description FROM executions')}&max_rows=100000`)).rows.map((r) => [String(r.task_id), String(r.task_description)]));
    const groupOf = new Map(items.map((it) => [it.text, it.group]));
    const measure = async (threshold: string | null) => {
      let hits = 0;
      let slots = 0;
      let empty = 0;
      let note = '';
      let params: Record<string, unknown> = {};
      for (const it of queries) {
        const k = groups.find((g) => g.group === it.group)!.texts.length - 1;
        const q = new URLSearchParams({ text: it.text, limit: String((k + 1) * RUNS + RUNS) });
        if (threshold !== null) q.set('threshold', threshold);
        const r = await get(`/v1/query/similar?${q}`);
        note = r.notes[0] ?? '';
        params = r.params;
        const others: string[] = [];
        for (const row of r.rows as unknown as Row[]) {
          const t = textOf.get(row.task_id)!;
          if (t !== it.text && !others.includes(t)) others.push(t);
        }
        if (others.length === 0) empty++;
        hits += others.slice(0, k).filter((t) => groupOf.get(t) === it.group).length;
        slots += k;
      }
      return { recall: hits / slots, hits, slots, empty, note, params };
    };
    const byDefault = await measure(null);
    const ranking = await measure('-1');
    return { groups: groups.length, texts: items.length, queries: queries.length, executions: specs.length, vectorModel: embedding.index.modelId, byDefault, ranking };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Measured = Awaited<ReturnType<typeof served>>;
const add = (a: Measured['byDefault'], b: Measured['byDefault']) => ({ ...b, hits: a.hits + b.hits, slots: a.slots + b.slots, empty: a.empty + b.empty, recall: (a.hits + b.hits) / (a.slots + b.slots) });
const f = (m: Measured['byDefault']) => `recall@k ${m.recall.toFixed(3)} (${m.hits}/${m.slots})${m.empty ? `, ${m.empty} queries answered nothing` : ''}`;
const worlds = values.world === 'both' ? ['new-wording', 'included'] : [values.world];
for (const file of values.eval.split(',')) {
  const size = readEvalSet(file).groups[0]!.texts.length;
  for (const world of worlds) {
    const runs = world === 'included' ? [await served(file, () => true, () => true)] : [];
    if (world === 'new-wording') for (let r = 0; r < size; r++) runs.push(await served(file, (p) => p !== r, (p) => p === r));
    const byDefault = runs.map((x) => x.byDefault).reduce(add);
    const ranking = runs.map((x) => x.ranking).reduce(add);
    const r0 = runs[0]!;
    console.log(`\n${file}, ${world}: ${r0.groups} groups; ${runs.length} server${runs.length > 1 ? 's' : ''} of ${r0.texts} texts (${r0.executions} executions, ${RUNS} per text), ${runs.reduce((s, x) => s + x.queries, 0)} queries; vectors ${r0.vectorModel}`);
    console.log(`  served similar, default parameters (threshold ${String(r0.byDefault.params.threshold)}, lexical_weight ${String(r0.byDefault.params.lexical_weight)}): ${f(byDefault)}`);
    console.log(`  served similar, threshold -1 (ranking alone): ${f(ranking)}`);
    console.log(`  ${r0.ranking.note}`);
  }
}
