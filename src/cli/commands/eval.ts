// orb-learn eval routing: what the router would have saved on this history (a replay in time
// order, docs/routing.md). A thin shell over the eval-routing query: a running server answers, or
// the file itself, with a progress bar on a large history.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { QueryResult } from '../../query/library.js';
import { fail } from '../common.js';
import { addQueryOptions, formatTable, runQuery } from './query.js';

const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(1)}%` : '-');
const policy = (v: unknown) => {
  const p = v as { success: number; cost: number } | null;
  return p ? `success ${p.success.toFixed(4)}, cost ${p.cost.toFixed(6)}` : '-';
};

export function formatEval(r: QueryResult): string {
  const a = r.answer ?? {};
  if (!a.executions_scored) return `nothing to evaluate: ${String(a.reason ?? 'no executions')}\n`;
  const eq = a.cost_saving_at_equal_success as { confidence: number; saving: number; success: number } | null;
  const lines = [
    `executions scored: ${a.executions_scored} of ${a.executions_replayed} replayed (${a.with_propensity} with a logged propensity); estimates: ${String(a.method).replace('_', ' ')}`,
    `router agrees with the logged tier on ${pct(a.agreement)}`,
    '',
    `router          ${policy(a.router)}`,
    `logged policy   ${policy(a.logged)}`,
    `always ${String(a.largest_tier).padEnd(9)}${policy(a.always_largest)}`,
    `always ${String(a.cheapest_tier).padEnd(9)}${policy(a.always_cheapest)}`,
    '',
    `cost saving vs always-${a.largest_tier}: ${pct(a.cost_saving_vs_largest)}; share of the success gap recovered: ${pct(a.success_gap_recovered)}`,
    `cost saving vs the logged policy: ${pct(a.cost_saving_vs_logged)}${eq ? `; at equal success (confidence ${eq.confidence}): ${pct(eq.saving)}` : '; at equal success: no swept confidence reaches the logged success'}`,
    '',
  ];
  return `${lines.join('\n')}${formatTable(r.rows)}${r.notes.map((n) => `note: ${n}\n`).join('')}`;
}

export function registerEval(program: Command): void {
  const evalCmd = program.command('eval').description('measure the router on your own history');
  const cmd = evalCmd
    .command('routing')
    .description('replay the history in time order (each execution sees only earlier ones): agreement, success and cost of the router against the logged policy, always-largest and always-cheapest');
  addQueryOptions(cmd, 'eval-routing');
  cmd.action(async (opts: Record<string, unknown>) => {
    let bar: cliProgress.SingleBar | null = null;
    const onProgress = (done: number, total: number) => {
      if (total < 10_000) return;
      if (!bar) {
        bar = new cliProgress.SingleBar({ format: 'replay [{bar}] {percentage}% | {value}/{total} executions | ETA {eta_formatted}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
        bar.start(total, 0);
      }
      bar.update(done);
    };
    try {
      const r = await runQuery('eval-routing', opts, undefined, onProgress);
      (bar as cliProgress.SingleBar | null)?.stop();
      process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : formatEval(r));
    } catch (err) {
      (bar as cliProgress.SingleBar | null)?.stop();
      fail((err as Error).message);
    }
  });
}
