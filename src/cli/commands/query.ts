// orb-learn query <name> …: the query library from the command line. It asks a running server
// over HTTP(S) (DuckDB lets only that process open the file); with --db, or when nothing listens at
// the default address, it reads the file itself, which must exist: a read never creates one.
import type { Command } from 'commander';
import type { QueryResult } from '../../query/library.js';
import { openQueries } from '../../query/open.js';
import { QUERY_NAMES, QUERY_PARAMS, type QueryName } from '../../query/params.js';
import type { Config } from '../../config/config.js';
import { MissingDatabaseError } from '../../store/db.js';
import { defaultSnapshotPath } from '../../store/snapshot.js';
import { addDeprecatedHttp, addSettings, fail, isLockError, MODEL_FLAGS, settings, warnDeprecatedHttp } from '../common.js';
import { addServerOptions, callServer, okJson, serverTarget, ServerUnreachableError, type ServerTarget } from '../server-client.js';

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
  tasks: 'distinct similar tasks searched, each with its executions up to k (default 64)',
  min_similarity: 'least similarity of a past execution to count as evidence',
  min_evidence: 'fewest similar executions behind a tier',
  max_rows: 'most rows returned',
  confidence: 'least posterior probability of meeting both targets',
  prior_strength: 'pseudo-executions a parent level of the prior is worth',
  half_life_days: "days in which an execution's weight halves",
  kernel_width: 'how fast a similar execution counts less than the best match (cosine units)',
  history_days: 'days of history behind the prior',
  mode: 'exploit or explore (default: the server setting)',
  explore_share: 'share of explore-mode calls that may explore, 0-1 (default: the server setting, 0.1)',
  explore_floor: 'least posterior mean success of a tier exploration may pick',
  seed: 'seed of this call\'s sampling',
  strategy: 'bayes, or legacy (the previous recommend)',
  max_executions: 'most executions scored (the latest)',
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

/** Asks the server; null when none listens at the default address (the caller then reads the file). */
async function viaServer(target: ServerTarget, name: QueryName, params: Record<string, unknown>, explain: boolean): Promise<QueryResult | ServerUnreachableError> {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
  if (explain) qs.set('explain', 'true');
  const path = `/v1/query/${name}${qs.size ? `?${qs}` : ''}`;
  try {
    return okJson(target, 'GET', path, await callServer(target, 'GET', path)) as QueryResult;
  } catch (err) {
    // Only "nothing listens at the address nobody named" lets the command read the file instead.
    if (err instanceof ServerUnreachableError && err.refused && !target.explicit) return err;
    throw err;
  }
}

/** The query on the file itself. `fellBack`: no server answered at the default address first. */
async function direct(config: Config, name: QueryName, params: Record<string, unknown>, explain: boolean, fellBack: ServerUnreachableError | null, onProgress?: (done: number, total: number) => void): Promise<QueryResult> {
  const q = await openQueries({ ...config, vectors: name === 'similar' || name === 'recommend', lexicalWeight: config.queryLexicalWeight, embedContent: config.embedContent, timeoutMs: config.queryTimeoutMs }).catch((err: Error) => {
    if (err instanceof MissingDatabaseError) {
      fail(
        fellBack
          ? `${fellBack.message} There is no database at ${config.db} to read instead either: start \`orb-learn serve\`, give --server URL of a running server, or --db PATH of a database file.`
          : `no database at ${config.db}: give the path of an existing database file (nothing was created)`,
      );
    }
    if (!isLockError(err)) fail(err.message);
    const pid = /\(PID (\d+)\)/.exec(err.message)?.[1];
    const holder = `the database ${config.db} is held by another process${pid ? ` (PID ${pid})` : ''}`;
    fail(
      fellBack
        ? `no server answered at the default address and ${holder}, most likely a server listening elsewhere: give --server URL of that server (https:// if it has --tls-cert). ${fellBack.message}`
        : `${holder}, most likely a running \`orb-learn serve\`: DuckDB lets only one process open the file. Ask that server instead (--server URL, without --db), or query its snapshot (--db ${defaultSnapshotPath(config.db)}).`,
    );
  });
  try {
    return await q.library.run(name, params, { explain, onProgress });
  } finally {
    await q.close();
  }
}

/** The flags of query `name`'s parameters (from its zod schema, defaults in the help) and the source flags. */
export function addQueryOptions(cmd: Command, name: QueryName): Command {
  const positional = POSITIONAL[name];
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
    .option('--db <PATH>', 'read this DuckDB file (no server may hold it) instead of asking a server; it must exist');
  addServerOptions(cmd, 'the running server to ask (default http://127.0.0.1:4318; when nothing listens there, the default database file is read, if it exists)');
  addSettings(cmd, MODEL_FLAGS);
  addDeprecatedHttp(cmd);
  return cmd;
}

/** Runs query `name` from parsed flags: a running server answers, or the file itself (--db, or nothing listening at the default address). */
export async function runQuery(name: QueryName, opts: Record<string, unknown>, positionalValue?: unknown, onProgress?: (done: number, total: number) => void): Promise<QueryResult> {
  const config = settings(opts);
  warnDeprecatedHttp(opts);
  if (opts.db !== undefined && opts.server !== undefined) fail('give --db or --server, not both');
  const params: Record<string, unknown> = {};
  for (const key of Object.keys(QUERY_PARAMS[name].shape)) {
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (opts[camel] !== undefined) params[key] = opts[camel];
  }
  const positional = POSITIONAL[name];
  if (positional) params[positional] = positionalValue;
  // An explicit --db is that file; otherwise a running server answers, or the default file.
  const target = opts.db === undefined ? serverTarget(opts, config) : null;
  const fromServer = target ? await viaServer(target, name, params, Boolean(opts.explain)) : null;
  const r = fromServer && !(fromServer instanceof ServerUnreachableError) ? fromServer : await direct(config, name, params, Boolean(opts.explain), fromServer, onProgress);
  if (!opts.json) process.stderr.write(`orb-learn: answered by ${r === fromServer ? `the server at ${target!.base}` : config.db}\n`);
  return r;
}

export function registerQuery(program: Command): void {
  const query = program.command('query').description(`ask the learning database: ${QUERY_NAMES.join(', ')}`);
  for (const name of QUERY_NAMES) {
    const positional = POSITIONAL[name];
    const cmd = query.command(positional ? `${name} <${positional}>` : name);
    addQueryOptions(cmd, name).option('--explain', "print DuckDB's EXPLAIN ANALYZE");
    cmd.action(async (...args: unknown[]) => {
      const opts = args[positional ? 1 : 0] as Record<string, unknown>;
      try {
        print(await runQuery(name, opts, positional ? args[0] : undefined), Boolean(opts.json));
      } catch (err) {
        fail((err as Error).message);
      }
    });
  }
}
