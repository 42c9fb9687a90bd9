// Runs every compiled test file with Node's own test runner (node:test), one file at a time.
// Each file gets a hard time limit: a test that hangs (a handle left open, a promise never
// settled) fails its file by name instead of stalling the whole run until CI gives up.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const FILE_LIMIT_MS = Number(process.env.ORB_TEST_FILE_TIMEOUT_MS ?? 10 * 60_000);
const root = 'dist/test';
const only = process.argv.slice(2);
const files = readdirSync(root, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js'))
  // dist/ may still hold tests whose source was deleted: run only those with a source.
  .filter((f) => existsSync(join('test', f.replace(/\.js$/, '.ts'))))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .map((f) => join(root, f))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/test');
  process.exit(1);
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    // detached: the file's process leads its own group, so a timeout kills what it spawned too.
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', file], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, FILE_LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const count = (name) => Number(out.match(new RegExp(`^ℹ ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
      resolve({ file, code, timedOut, seconds: (Date.now() - started) / 1000, tests: count('tests'), pass: count('pass'), fail: count('fail') });
    });
  });
}

const results = [];
for (const file of files) results.push(await runFile(file));

const bad = results.filter((r) => r.code !== 0 || r.timedOut);
const sum = (k) => results.reduce((a, r) => a + r[k], 0);
console.log(`\n${results.length} files, ${sum('tests')} tests: ${sum('pass')} passed, ${sum('fail')} failed, ${sum('seconds').toFixed(0)} s`);
for (const r of results.filter((x) => x.seconds > 30)) console.log(`  slow: ${r.file} ${r.seconds.toFixed(0)} s`);
for (const r of bad) console.log(`  FAILED: ${r.file}${r.timedOut ? ` (killed after ${FILE_LIMIT_MS / 1000} s: it did not finish)` : ` (exit ${r.code})`}`);
process.exit(bad.length === 0 ? 0 : 1);
