// orb-learn migrate hotstore: import the execution records of a HotStore DuckDB file (its
// conversations with metadata.type = 'execution'). Idempotent: a rerun skips every row.
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { migrateHotStore, type HotStoreReport } from '../../migrate/hotstore.js';
import { addSettings, openStoreOrFail, fail, settings } from '../common.js';

function describe(r: HotStoreReport): string {
  const lines = [
    `scanned ${r.scanned} conversations in ${r.source}: ${r.executionRows} execution rows, ${r.ignored} other conversations ignored` +
      (r.unreadable > 0 ? `, ${r.unreadable} with unreadable metadata` : ''),
    `execution rows: ${r.migrated} migrated (new), ${r.skipped} skipped (already present), ${r.rejected} rejected  (${r.seconds.toFixed(1)} s)`,
  ];
  for (const x of r.rejects) lines.push(`  rejected conversation ${x.conversation_id}: ${x.reasons.join('; ')}`);
  for (const x of r.unreadableRows) lines.push(`  unreadable conversation ${x.conversation_id}: ${x.reason}`);
  return `${lines.join('\n')}\n`;
}

export function registerMigrate(program: Command): void {
  const migrate = program.command('migrate').description('import data kept elsewhere into the learning database');
  addSettings(
    migrate
      .command('hotstore')
      .description("import the execution records of a HotStore DuckDB file (conversations whose metadata.type is 'execution'); rerunnable")
      .requiredOption('--from <FILE>', 'the HotStore DuckDB file (opened read-only)')
      .option('--db <PATH>', 'DuckDB file to import into (the server must not hold it)')
      .option('--rejects <FILE>', 'write every rejected record as a JSON line (conversation_id, task_id, reasons)')
      .option('--json', 'print the report as JSON'),
    [],
  ).action(async (opts: Record<string, unknown>) => {
    const config = settings(opts);
    const from = String(opts.from);
    if (!existsSync(from)) fail(`--from ${from}: no such file`);
    if (resolve(from) === resolve(config.db)) fail('--from and --db are the same file');
    const store = await openStoreOrFail(config.db);
    const bar = new cliProgress.SingleBar(
      { format: 'migrate hotstore [{bar}] {percentage}% | {value}/{total} execution rows', stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    let report: HotStoreReport;
    try {
      report = await migrateHotStore(store, {
        from,
        onProgress: ({ done, total }) => {
          if (!started) {
            bar.start(Math.max(1, total), 0);
            started = true;
          }
          bar.update(done);
        },
      });
    } catch (err) {
      if (started) bar.stop();
      await store.close().catch(() => undefined);
      fail(`migration failed: ${(err as Error).message}`);
    }
    if (started) bar.stop();
    await store.close();
    if (opts.rejects) {
      const lines = [
        ...report.rejects.map((x) => JSON.stringify({ kind: 'rejected', ...x })),
        ...report.unreadableRows.map((x) => JSON.stringify({ kind: 'unreadable', conversation_id: x.conversation_id, task_id: null, reasons: [x.reason] })),
      ];
      writeFileSync(String(opts.rejects), lines.length > 0 ? `${lines.join('\n')}\n` : '');
    }
    process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : describe(report));
  });
}
