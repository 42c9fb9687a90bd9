// orb-learn report --out report.html: the dashboard as one self-contained HTML file for a chosen
// window, from the database file or a running server (--server URL), with a progress bar.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { collectReport, fileAnswerer, reportHtml, serverAnswerer, type Answerer } from '../../dashboard/report.js';
import { WINDOWS, type Filters, type WindowDays } from '../../dashboard/requests.js';
import { openQueries } from '../../query/open.js';
import { addSettings, fail, settings } from '../common.js';

export function registerReport(program: Command): void {
  addSettings(
    program
      .command('report')
      .description('write the dashboard as one self-contained HTML file (opens without a server or a network)')
      .requiredOption('--out <FILE>', 'the HTML file to write, e.g. report.html')
      .option('--days <N>', `window: ${WINDOWS.join(', ')} days`, '30')
      .option('--task-type <T>', 'only executions of this task type')
      .option('--repo <R>', 'only executions of this repository')
      .option('--db <PATH>', 'read this DuckDB file (its server must be stopped)')
      .option('--server <URL>', "read a running server's API instead, e.g. http://127.0.0.1:4318")
      .option('--no-progress', 'no progress bar'),
    [
      ['authToken', 'TOKEN', 'bearer token the server requires, with --server (env ORB_AUTH_TOKEN)'],
      ['authTokenFile', 'FILE', 'file holding that token (env ORB_AUTH_TOKEN_FILE)'],
    ],
  ).action(async (opts: Record<string, unknown>) => {
    const config = settings(opts);
    const days = Number(opts.days);
    if (!(WINDOWS as readonly number[]).includes(days)) fail(`--days must be one of ${WINDOWS.join(', ')}, got ${JSON.stringify(opts.days)}`);
    if (opts.server !== undefined && opts.db !== undefined) fail('give --db or --server, not both');
    const filters: Filters = { days: days as WindowDays, task_type: opts.taskType as string | undefined, repo: opts.repo as string | undefined };
    let answer: Answerer;
    let source: string;
    let close: () => Promise<void> = async () => undefined;
    if (opts.server !== undefined) {
      const base = (/^https?:\/\//i.test(String(opts.server)) ? String(opts.server) : `http://${opts.server}`).replace(/\/+$/, '');
      if (!URL.canParse(base)) fail(`--server: not a URL: ${JSON.stringify(opts.server)} (e.g. http://127.0.0.1:4318)`);
      const token = config.authToken ?? (config.authTokenFile ? readFileSync(config.authTokenFile, 'utf8').trim() : undefined);
      answer = serverAnswerer(base, token);
      source = `the server at ${base}`;
    } else {
      // Opening a missing file would create an empty database and report on nothing.
      if (!existsSync(config.db)) fail(`no database at ${config.db}: give --db PATH, or --server URL for a running server`);
      const q = await openQueries({ db: config.db, vectors: false, timeoutMs: config.queryTimeoutMs }).catch((err: Error) =>
        fail(/lock/i.test(err.message) ? `${config.db} is held by another process (a running server?): pass --server URL to read it through the server. ${err.message.split('\n')[0]}` : err.message),
      );
      answer = fileAnswerer(q.library, q.withConnection);
      source = config.db;
      close = q.close;
    }
    const bar = opts.progress === false ? null : new cliProgress.SingleBar({ format: 'report [{bar}] {value}/{total} {what}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
    bar?.start(1, 0, { what: '' });
    try {
      const data = await collectReport({
        filters,
        source,
        answer,
        onStep: (done, total, what) => {
          bar?.setTotal(total);
          bar?.update(done, { what });
        },
      });
      const out = String(opts.out);
      // Written beside, then renamed: a reader never sees half a report.
      writeFileSync(`${out}.tmp`, reportHtml(data));
      renameSync(`${out}.tmp`, out);
      bar?.stop();
      const failed = Object.values(data.responses).filter((v) => v && typeof v === 'object' && 'error' in v && 'status' in v).length;
      process.stderr.write(`orb-learn: report for the last ${days} days from ${source} written to ${out}${failed ? ` (${failed} question(s) failed: their panels say why)` : ''}\n`);
    } catch (err) {
      bar?.stop();
      fail((err as Error).message);
    } finally {
      await close();
    }
  });
}
