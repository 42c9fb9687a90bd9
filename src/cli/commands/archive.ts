// orb-learn archive: move executions older than a cutoff (with their feedback and, optionally,
// their int8 vectors) out of the hot DuckDB file into monthly Parquet. Crash-safe and idempotent:
// see src/store/archive.ts. The server must not hold the file (a running server archives on its
// own schedule instead).
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { parseDuration } from '../../duration.js';
import { ARCHIVE_STEPS, archiveOlderThan, type ArchiveReport } from '../../store/archive.js';
import { addSettings, openStoreOrFail, fail, settings } from '../common.js';

/** <db folder>/archive: next to the database, on the same disk. */
export function defaultArchiveDir(db: string): string {
  return join(dirname(resolve(db)), 'archive');
}

function describe(r: ArchiveReport, dir: string): string {
  const lines: string[] = [];
  for (const x of r.recovered) {
    lines.push(`${r.dryRun ? 'would undo' : 'undid'} unfinished run ${x.runId} (left at '${x.status}'${r.dryRun ? '' : `, ${x.filesRemoved} file(s) removed`})`);
  }
  const what = `${r.executions} executions, ${r.feedback} feedback, ${r.embeddings} vectors`;
  const extra = [
    r.embeddingsDropped > 0 ? `${r.embeddingsDropped} vectors ${r.dryRun ? 'would be ' : ''}deleted without archiving (no --with-vectors)` : '',
    r.duplicatesDropped > 0 ? `${r.duplicatesDropped} hot rows already archived ${r.dryRun ? 'would be ' : ''}dropped` : '',
  ].filter(Boolean);
  const before = `older than ${r.cutoff.toISOString()}`;
  const months = r.months.length > 0 ? ` (months ${r.months.join(', ')})` : '';
  if (r.dryRun) {
    lines.push(`dry run: would archive ${what} ${before}${months} into ${dir}${extra.length ? `; ${extra.join('; ')}` : ''}`);
  } else {
    lines.push(
      `archived ${what} ${before}${months} into ${r.files.length} file(s), ${(r.bytes / 2 ** 20).toFixed(2)} MiB, under ${dir} in ${r.seconds.toFixed(1)} s (run ${r.runId})` +
        (extra.length ? `; ${extra.join('; ')}` : ''),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function registerArchive(program: Command): void {
  addSettings(
    program
      .command('archive')
      .description('move executions older than a cutoff, with their feedback (and vectors), to monthly Parquet files; crash-safe, rerunnable')
      .requiredOption('--older-than <DURATION>', 'archive executions older than this: 90d, 12h, 2w')
      .option('--db <PATH>', 'DuckDB file (the server must not hold it)')
      .option('--archive-dir <DIR>', 'where the Parquet tree goes (default: archive/ beside the database)')
      .option('--with-vectors', 'archive the int8 vectors too (default: delete them with their executions)')
      .option('--dry-run', 'count what would be archived; change nothing')
      .option('--json', 'print the report as JSON'),
    [],
  ).action(async (opts: Record<string, unknown>) => {
    let olderThan: number;
    try {
      olderThan = parseDuration(String(opts.olderThan));
    } catch (err) {
      process.stderr.write(`orb-learn: --older-than: ${(err as Error).message}\n`);
      process.exit(2);
    }
    const config = settings(opts);
    const dir = resolve(opts.archiveDir ? String(opts.archiveDir) : defaultArchiveDir(config.db));
    const store = await openStoreOrFail(config.db);
    const bar = new cliProgress.SingleBar(
      { format: `archive [{bar}] {step}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(ARCHIVE_STEPS.length, 0, { step: opts.dryRun ? 'counting' : 'recovering' });
    let report: ArchiveReport;
    try {
      report = await archiveOlderThan(store, {
        archiveDir: dir,
        olderThan,
        withVectors: Boolean(opts.withVectors),
        dryRun: Boolean(opts.dryRun),
        onStep: (step) => bar.update(ARCHIVE_STEPS.indexOf(step) + 1, { step }),
      });
    } catch (err) {
      bar.stop();
      await store.close().catch(() => undefined);
      fail(`archive failed: ${(err as Error).message}`);
    }
    bar.update(ARCHIVE_STEPS.length, { step: 'done' });
    bar.stop();
    await store.close();
    process.stdout.write(opts.json ? `${JSON.stringify({ ...report, archiveDir: dir })}\n` : describe(report, dir));
  });
}
