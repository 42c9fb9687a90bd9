// A child process that runs one archive and can be SIGKILLed at a step (test/store/archive.test.ts).
// argv: DB ARCHIVE_DIR CUTOFF_ISO KILL_AT(step | none) WITH_VECTORS(1 | 0)
// It prints "step <name>" as each step completes, so the parent can also kill it at any moment.
import { archiveOlderThan, type ArchiveStep } from '../../src/store/archive.js';
import { Store } from '../../src/store/db.js';

const [db, archiveDir, cutoff, killAt, withVectors] = process.argv.slice(2) as [string, string, string, string, string];
const store = await Store.open({ path: db });
const report = await archiveOlderThan(store, {
  archiveDir,
  cutoff: new Date(cutoff),
  withVectors: withVectors === '1',
  onStep: (step: ArchiveStep) => {
    process.stdout.write(`step ${step}\n`);
    if (step === killAt) process.kill(process.pid, 'SIGKILL');
  },
});
await store.close();
process.stdout.write(`done ${JSON.stringify(report)}\n`);
