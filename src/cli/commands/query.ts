// orb-learn query <name> …: the query library from the command line. It asks a running server
// over HTTP when one answers (DuckDB lets only that process open the file), and opens the file
// itself when none does.
import type { Command } from 'commander';
import type { QueryResult } from '../../query/library.js';
import { openQueries } from '../../query/open.js';
import { QUERY_NAMES, QUERY_PARAMS, type QueryName } from '../../query/params.js';
import { authTokenOf } from '../../config/config.js';
import { addSettings, fail, MODEL_FLAGS, settings } from '../common.js';

const POSITIONAL: Partial<Record<QueryName, string>> = { similar: 'text', recommend: 'text', sql: 'query' };
const HELP: Record<string, string> = {
  repo: 'only executions of this repository',
  task_type: 'only executions of this task type',
  days: 'look back this many days',
  limit: 'most rows returned',
  threshold: 'least cosine similarity of a hit',
  include_archive: 'also the Parquet archive',
  lexical_weight: 'weight of BM25 against cosine, 0-1 (default: the server setting, 0.5)',
  min_usage: 'least executions behind a pattern',
  by: 'tier or task_type',
  quality_target: 'mean quality a tier must reach, 0-100',
  success_target: 'success rate a tier must reach, 0-1',
  k: 'similar past executions considered',
  min_similarity: 'least similarity of a past execution to count as evidence',
  min_evidence: 'fewest similar executions behind a tier',
  max_rows: 'most rows returned',
};
const flag = (key: string) => key.replaceAll('_', '-');

function cell(v: unknown, max = 60): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(4).replace(/\.?0+$/, '');
  if (Array.isArray(v)) return v.map((x) => cell(x, max)).join(', ');
  const s = String(v);
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
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
  if (r.answer) for (const [k, v] of Object.entries(r.answer)) process.stdout.write(`${k}: ${cell(v, Infinity)}\n`);
  if (r.answer) process.stdout.write('\n');
  process.stdout.write(formatTable(r.rows));
  for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
  if (r.explain) process.stdout.write(`\n${r.explain}\n`);
}

async function viaServer(base: string, name: QueryName, params: Record<string, unknown>, explain: boolean, token: string | undefined): Promise<QueryResult | null> {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
  if (explain) qs.set('explain', 'true');
  let res: Response;
  try {
    res = await fetch(`${base}/v1/query/${name}?${qs}`, { signal: AbortSignal.timeout(60_000), headers: token ? { authorization: `Bearer ${token}` } : {} });
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
  const q = await openQueries({ ...config, vectors: name === 'similar' || name === 'recommend', lexicalWeight: config.queryLexicalWeight, embedContent: config.embedContent, timeoutMs: config.queryTimeoutMs }).catch((err: Error) =>
    fail(/lock/i.test(err.message) ? `${config.db} is held by another process (a running server?): run the query without --db to ask the server on --http. ${err.message.split('\n')[0]}` : err.message),
  );
  try {
    return await q.library.run(name, params, { explain });
  } finally {
    await q.close();
  }
}

export function registerQuery(program: Command): void {
  const query = program.command('query').description(`ask the learning database: ${QUERY_NAMES.join(', ')}`);
  for (const name of QUERY_NAMES) {
    const positional = POSITIONAL[name];
    const cmd = query.command(positional ? `${name} <${positional}>` : name);
    const defaults = QUERY_PARAMS[name].parse(positional ? { [positional]: 'x' } : {}) as Record<string, unknown>;
    for (const key of Object.keys(QUERY_PARAMS[name].shape)) {
      if (key === positional) continue;
      const d = defaults[key];
      const help = `${HELP[key] ?? ''}${d !== undefined && typeof d !== 'boolean' ? ` (default ${d})` : ''}`;
      // A boolean parameter is a bare flag (`--include-archive`), or takes true/false.
      cmd.option(typeof d === 'boolean' ? `--${flag(key)} [bool]` : `--${flag(key)} <value>`, help);
    }
    cmd
      .option('--json', 'print JSON')
      .option('--explain', "print DuckDB's EXPLAIN ANALYZE")
      .option('--db <PATH>', 'open this DuckDB file (its server must be stopped) instead of asking a running server');
    addSettings(cmd, [
      ...MODEL_FLAGS,
      ['http', 'HOST:PORT', "a running server's HTTP address, asked when --db is not given (default 127.0.0.1:4318)"],
      ['authToken', 'TOKEN', 'bearer token of that server (env ORB_AUTH_TOKEN)'],
      ['authTokenFile', 'FILE', 'read the bearer token from a file'],
    ]);
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
        // An explicit --db is that file; otherwise a running server answers, or the default file.
        const base = `http://${config.http}`;
        const fromServer = opts.db === undefined ? await viaServer(base, name, params, Boolean(opts.explain), authTokenOf(config)) : null;
        const r = fromServer ?? (await direct(config, name, params, Boolean(opts.explain)));
        if (!opts.json) process.stderr.write(`orb-learn: answered by ${fromServer ? `the server at ${base}` : config.db}\n`);
        print(r, Boolean(opts.json));
      } catch (err) {
        fail((err as Error).message);
      }
    });
  }
}
