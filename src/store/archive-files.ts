// File helpers of an archive run: listing, removing a run's files, pruning empty folders.
import { existsSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ARCHIVED_TABLES, STAGING } from './archive-layout.js';
import { fsyncPath } from './fsync.js';

/** Every file under dir (none when it does not exist). */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

/** Removes empty folders under root (not root itself), deepest first. */
function pruneEmpty(root: string): void {
  if (!existsSync(root)) return;
  const dirs = (readdirSync(root, { recursive: true }) as string[])
    .map((f) => join(root, f))
    .filter((f) => statSync(f).isDirectory())
    .sort((a, b) => b.length - a.length);
  for (const d of dirs) if (readdirSync(d).length === 0) rmdirSync(d);
}

/** Removes every file of a run from an archive dir: its staging folder and its files in the tree. */
export function removeRunFiles(archiveDir: string, runId: string): number {
  let removed = 0;
  const staging = join(archiveDir, STAGING, runId);
  if (existsSync(staging)) {
    removed += listFiles(staging).length;
    rmSync(staging, { recursive: true, force: true });
  }
  for (const t of ARCHIVED_TABLES) {
    const root = join(archiveDir, t.dir);
    let any = false;
    for (const f of listFiles(root)) {
      if (!basename(f).startsWith(`${runId}_`)) continue;
      unlinkSync(f);
      removed++;
      any = true;
    }
    if (any) {
      pruneEmpty(root);
      fsyncPath(root);
    }
  }
  return removed;
}
