// npx tsc -p tsconfig.json && node dist/bench/recall-offline.js [--model use-lite|glove|all] [--eval FILE]
// recall@2 of the offline embedding model(s) on the shared similar-task set: every line is
// {"group": ..., "texts": [...]}; for each text, the 2 nearest other texts by cosine are taken
// and we report the fraction of those neighbours from the same group (and, stricter, the
// fraction of texts whose 2 neighbours are both from its group). Embeds through the project's
// own OnnxEmbedder, as the server does.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readEvalSet, DEFAULT_EVAL_SET } from './eval-set.js';
import { OnnxEmbedder } from '../src/embed/embedder.js';
import { readModelDir } from '../src/embed/model.js';
import { buildOfflineModel, type OfflineModelKind } from '../src/embed/offline/index.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'all' },
    eval: { type: 'string', default: DEFAULT_EVAL_SET },
    k: { type: 'string', default: '2' },
  },
});
const K = Number(values.k);
const { groups, items } = readEvalSet(values.eval);
const kinds: OfflineModelKind[] = values.model === 'all' ? ['use-lite', 'glove'] : [values.model as OfflineModelKind];

for (const kind of kinds) {
  const t0 = performance.now();
  const built = await buildOfflineModel(join(tmpdir(), 'orb-learn-recall-offline', kind), { model: kind });
  const buildMs = performance.now() - t0;
  const files = await readModelDir(built.dir, 'offline');
  if (!files) throw new Error(`incomplete build in ${built.dir}`);
  const embedder = await OnnxEmbedder.load(files, { threads: 1 });
  const t1 = performance.now();
  const { vectors } = await embedder.embed(items.map((i) => i.text));
  const embedMs = performance.now() - t1;
  await embedder.close();

  let hits = 0;
  let allHit = 0;
  const misses: string[] = [];
  items.forEach((item, i) => {
    const nearest = items
      .map((_, j) => ({ j, s: j === i ? -Infinity : vectors[i]!.reduce((a, x, d) => a + x * vectors[j]![d]!, 0) }))
      .sort((a, b) => b.s - a.s)
      .slice(0, K);
    const same = nearest.filter((n) => items[n.j]!.group === item.group).length;
    hits += same;
    if (same === K) allHit++;
    else misses.push(`  ${item.group}: "${item.text}" → ${nearest.map((n) => items[n.j]!.group).join(', ')}`);
  });
  console.log(
    `${built.id} (${built.dimension}-d): recall@${K} ${(hits / (items.length * K)).toFixed(3)} of neighbours, ` +
      `${allHit}/${items.length} texts with all ${K} from their group; ${items.length} texts in ${groups.length} groups; ` +
      `build/load ${buildMs.toFixed(0)} ms, embed ${embedMs.toFixed(0)} ms`,
  );
  if (process.env.VERBOSE) console.log(misses.join('\n'));
}
