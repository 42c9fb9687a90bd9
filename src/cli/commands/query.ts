// orb-learn query <name> …: the query library from the command line. It asks a running server
// over HTTP when one answers (DuckDB lets only that process open the file), and opens the file
// itself when none does.
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { OnnxEmbedder } from '../../embed/embedder.js';
import { resolveModel } from '../../embed/model.js';
import { modelOptions } from '../../embed/service.js';
import { QueryLibrary, type QueryResult } from '../../query/library.js';
import { QUERY_NAMES, QUERY_PARAMS, type QueryName } from '../../query/params.js';
import { ReadPool } from '../../query/pool.js';
import { VectorIndex } from '../../query/vector-index.js';
import { Store } from '../../store/db.js';
import { addSettings, fail, MODEL_FLAGS, settings } from '../common.js';

const POSITIONAL: Partial<Record<QueryName, string>> = { similar: 'text', recommend: 'text', sql: 'query' };
const flag = (key: string) => key.replaceAll('_', '-');

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(4).replace(/\.?0+$/, '');
  if (Array.isArray(v)) return v.map(cell).join(', ');
  const s = String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function formatTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols = Object.keys(rows[0]!);
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (xs: string[]) => xs.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

function print(r: QueryResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  if (r.answer) for (const [k, v] of Object.entries(r.answer)) process.stdout.write(`${k}: ${cell(v)}\n`);
  if (r.answer) process.stdout.write('\n');
  process.stdout.write(formatTable(r.rows));
  for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
  if (r.explain) process.stdout.write(`\n${r.explain}\n`);
}

async function viaServer(base: string, name: QueryName, params: Record<string, unknown>, explain: boolean): Promise<QueryResult | null> {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
  if (explain) qs.set('explain', 'true');
  let res: Response;
  try {
    res = await fetch(`${base}/v1/query/${name}?${qs}`, { signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND') return null;
    throw err;
  }
  const body = (await res.json()) as QueryResult & { message?: string };
  if (!res.ok) fail(body.message ?? `HTTP ${res.status}`);
  return body;
}

async function direct(config: ReturnType<typeof settings>, name: QueryName, params: Record<string, unknown>, explain: boolean): Promise<QueryResult> {
  const store = await Store.open({ path: config.db });
  const pool = await ReadPool.open(() => store.connect(), 1, config.queryTimeoutMs);
  let vectors: { index: VectorIndex; embedder: OnnxEmbedder } | null = null;
  if (name === 'similar' || name === 'recommend') {
    const embedder = await OnnxEmbedder.load(await resolveModel(modelOptions(config)), { threads: 2 });
    const index = new VectorIndex(embedder.modelId, embedder.dimension);
    await pool.use((conn) => index.load(conn));
    vectors = { index, embedder };
  }
  try {
    return await new QueryLibrary(pool, () => vectors, config.archiveDir ?? join(dirname(config.db), 'archive'), undefined, { lexicalWeight: config.queryLexicalWeight }).run(name, params, { explain });
  } finally {
    await vectors?.embedder.close();
    pool.close();
    await store.close();
  }
}

export function registerQuery(program: Command): void {
  const query = program.command('query').description(`ask the learning database: ${QUERY_NAMES.join(', ')}`);
  for (const name of QUERY_NAMES) {
    const positional = POSITIONAL[name];
    const cmd = query.command(positional ? `${name} <${positional}>` : name);
    for (const key of Object.keys(QUERY_PARAMS[name].shape)) if (key !== positional) cmd.option(`--${flag(key)} <value>`);
    cmd.option('--json', 'print JSON').option('--explain', "print DuckDB's EXPLAIN ANALYZE").option('--db <PATH>', 'DuckDB file, when no server runs');
    addSettings(cmd, [...MODEL_FLAGS, ['http', 'HOST:PORT', "a running server's HTTP address (default 127.0.0.1:4318)"]]);
    cmd.action(async (...args: unknown[]) => {
      const opts = args[positional ? 1 : 0] as Record<string, unknown>;
      const config = settings(opts);
      const params: Record<string, unknown> = {};
      for (const key of Object.keys(QUERY_PARAMS[name].shape)) {
        const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
        if (opts[camel] !== undefined) params[key] = opts[camel];
      }
      if (positional) params[positional] = args[0];
      try {
        const r = (await viaServer(`http://${config.http}`, name, params, Boolean(opts.explain))) ?? (await direct(config, name, params, Boolean(opts.explain)));
        print(r, Boolean(opts.json));
      } catch (err) {
        fail((err as Error).message);
      }
    });
  }
}
