// orb-learn policy set|list|history|adjust: quality policies, on the database file itself or,
// with --server, through a running server's HTTP API (src/server/policy-routes.ts). A running
// server holds the file (DuckDB locks it against every other process): without --server these
// commands then say so and point at the flag.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Config } from '../../config/config.js';
import { adjustPolicies, type AdjustmentReport } from '../../policy/adjust.js';
import { listPolicies, policyHistory, setPolicy, type Policy, type PolicyChange } from '../../policy/policies.js';
import { Store } from '../../store/db.js';
import { addSettings, fail, isLockError, settings } from '../common.js';
import { addServerOptions, callServer, okJson, serverTarget, type ServerTarget } from '../server-client.js';
import { formatTable } from './query.js';

/** httpAddress: the server's --http HOST:PORT as this command's settings know it, for the hint. */
export function lockMessage(path: string, err: Error, httpAddress: string): string {
  const pid = /\(PID (\d+)\)/.exec(err.message)?.[1];
  return (
    `the database ${path} is locked by another process${pid ? ` (PID ${pid})` : ''}, most likely a running \`orb-learn serve\`. ` +
    'DuckDB lets only one process open the file: stop the server to use `orb-learn policy` on the file, ' +
    `or use the running server's HTTP API: pass --server URL to go through it (http://${httpAddress} unless the server was given another --http, https:// with --tls-cert)`
  );
}

async function withConnection<T>(config: Config, create: boolean, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  // Only `set` may start a database; a mistyped --db should not leave an empty one behind.
  if (!create && config.db !== ':memory:' && !existsSync(config.db)) fail(`no database at ${config.db} (give --db PATH or ORB_DB)`);
  let store: Store;
  try {
    store = await Store.open({ path: config.db });
  } catch (err) {
    if (isLockError(err)) fail(lockMessage(config.db, err as Error, config.http));
    throw err;
  }
  const conn = await store.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    await store.close();
  }
}

/** A request to the server's policy API; answers the parsed JSON, or ends the command on an error. */
type ServerApi = (method: string, path: string, body?: unknown) => Promise<unknown>;

// JSON carries dates as strings; the tables format Dates (and --json turns them back the same).
const DATE_KEYS = new Set(['last_adjusted', 'changed_at', 'now']);
const reviveDates = (key: string, v: unknown) => (DATE_KEYS.has(key) && typeof v === 'string' ? new Date(v) : v);

function serverApi(target: ServerTarget): ServerApi {
  return async (method, path, body) => {
    const answer = await callServer(target, method, path, body);
    okJson(target, method, path, answer);
    return JSON.parse(answer.text, reviveDates);
  };
}

const time = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : null);

const policyRow = (p: Policy) => ({
  repo: p.repo,
  maturity: p.project_maturity,
  coverage: p.coverage_threshold,
  strictness: p.strictness_level,
  last_adjusted: time(p.last_adjusted),
  reason: p.adjustment_reason,
});

const arrow = <T>(a: T | null | undefined, b: T | null | undefined) => (a === b ? (b ?? null) : `${a ?? '-'} → ${b ?? '-'}`);

const changeRow = (c: PolicyChange) => ({
  changed_at: time(c.changed_at),
  repo: c.repo,
  source: c.source,
  maturity: arrow(c.before?.project_maturity, c.after.project_maturity),
  coverage: arrow(c.before?.coverage_threshold, c.after.coverage_threshold),
  strictness: arrow(c.before?.strictness_level, c.after.strictness_level),
  reason: c.reason,
});

function printAdjustment(r: AdjustmentReport): void {
  const out = process.stdout;
  out.write(`evidence: ${r.windows.previous.from}..${r.windows.previous.to} vs ${r.windows.recent.from}..${r.windows.recent.to} (tier_performance_mv)\n\n`);
  if (r.proposals.length === 0) out.write('no adjustment proposed\n');
  for (const p of r.proposals) {
    out.write(`${p.repo}: ${p.direction} coverage ${arrow(p.from.coverage_threshold, p.to.coverage_threshold)}, strictness ${arrow(p.from.strictness_level, p.to.strictness_level)}\n`);
    out.write(`  ${p.reason}\n`);
  }
  if (r.skipped.length) {
    out.write('\nunchanged:\n');
    for (const s of r.skipped) out.write(`  ${s.repo} [${s.code}]: ${s.reason}\n`);
  }
  if (r.applied) out.write(`\napplied ${r.changes.length} change${r.changes.length === 1 ? '' : 's'}\n`);
  else if (r.proposals.length) out.write('\nnothing written: pass --apply to apply these proposals\n');
}

function common(cmd: Command): Command {
  cmd.option('--db <PATH>', 'DuckDB file (the server must not be running on it)').option('--json', 'print JSON');
  return addServerOptions(cmd, "go through a running server's HTTP API instead of the file, e.g. https://127.0.0.1:4318");
}

/** One command: on the file, or through the server's API; both answer the same JSON. */
interface PolicyCommand {
  file(conn: DuckDBConnection): Promise<unknown>;
  server(api: ServerApi): Promise<unknown>;
}

async function run(opts: Record<string, unknown>, command: PolicyCommand, print: (result: never) => void, create = false): Promise<void> {
  const config = settings(opts);
  if (opts.server !== undefined && opts.db !== undefined) fail('give --db or --server, not both');
  try {
    // ORB_SERVER counts as --server, unless --db names the file.
    const target = opts.db === undefined && (opts.server !== undefined || process.env.ORB_SERVER) ? serverTarget(opts, config) : null;
    const result = target ? await command.server(serverApi(target)) : await withConnection(config, create, command.file);
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else print(result as never);
  } catch (err) {
    fail((err as Error).message);
  }
}

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('quality policies per repository: set, list, history, evidence-driven adjust');

  common(
    policy
      .command('set')
      .description('create or change the policy of a repository by hand (recorded in the history)')
      .requiredOption('--repo <R>', 'repository')
      .option('--maturity <M>', 'prototype, growing, mature or critical')
      .option('--coverage <N>', 'coverage threshold, 0-100')
      .option('--strictness <S>', 'lenient, standard, strict or very_strict')
      .option('--reason <TEXT>', 'why (kept in the history)'),
  ).action((opts: Record<string, unknown>) =>
    run(
      opts,
      {
        file: (conn) =>
          setPolicy(
            conn,
            { repo: opts.repo, project_maturity: opts.maturity, coverage_threshold: opts.coverage, strictness_level: opts.strictness },
            opts.reason as string | undefined,
          ),
        server: (api) =>
          api('PUT', `/v1/policies/${encodeURIComponent(String(opts.repo))}`, {
            project_maturity: opts.maturity,
            coverage_threshold: opts.coverage,
            strictness_level: opts.strictness,
            reason: opts.reason,
          }),
      },
      (r: Awaited<ReturnType<typeof setPolicy>>) => {
        process.stdout.write(r.change ? `${r.created ? 'created' : 'changed'} the policy of ${r.policy.repo}\n` : `the policy of ${r.policy.repo} already had these values: nothing written\n`);
        process.stdout.write(formatTable([policyRow(r.policy)]));
      },
      true,
    ),
  );

  common(policy.command('list').description('the current policy of every repository')).action((opts: Record<string, unknown>) =>
    run(opts, { file: listPolicies, server: (api) => api('GET', '/v1/policies') }, (r: Policy[]) => process.stdout.write(formatTable(r.map(policyRow)))),
  );

  common(
    policy
      .command('history')
      .description('every change to the policies, oldest first')
      .option('--repo <R>', 'only this repository')
      .option('--limit <N>', 'only the last N changes'),
  ).action((opts: Record<string, unknown>) => {
    const limit = opts.limit === undefined ? undefined : Number(opts.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) fail(`--limit must be a positive whole number, got ${JSON.stringify(opts.limit)}`);
    return run(
      opts,
      {
        file: (conn) => policyHistory(conn, { repo: opts.repo as string | undefined, limit }),
        server: (api) => {
          const q = new URLSearchParams();
          if (opts.repo !== undefined) q.set('repo', String(opts.repo));
          if (limit !== undefined) q.set('limit', String(limit));
          return api('GET', `/v1/policies/history${q.size ? `?${q}` : ''}`);
        },
      },
      (r: PolicyChange[]) => process.stdout.write(formatTable(r.map(changeRow))),
    );
  });

  common(
    policy
      .command('adjust')
      .description('propose policy steps from the last 14 days against the 14 before (docs/quality-policies.md); --apply writes them')
      .option('--apply', 'write the proposals (policies and history, one transaction)'),
  ).action((opts: Record<string, unknown>) =>
    run(
      opts,
      {
        file: (conn) => adjustPolicies(conn, { apply: Boolean(opts.apply) }),
        server: (api) => api('POST', `/v1/policies/adjust${opts.apply ? '?apply=true' : ''}`),
      },
      printAdjustment,
    ),
  );
}
