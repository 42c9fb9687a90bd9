// npm run bench [-- --quick] [--only a,b] [--skip a,b] [--eval FILE] [--timeout MIN] [--list]
// Runs every benchmark (each `bench:*` script in package.json) in turn, on the build made once by
// `npm run bench`, and ends with a short summary: status, time and the last line each printed.
// --quick passes small sizes, so the whole round finishes in minutes (figures from it are not the
// ones docs/benchmarks.md records). No path outside the repository is assumed: the benchmarks that
// read the similar-task set use the repository's copy (bench/eval/) unless --eval FILE (or
// ORB_BENCH_EVAL) names another.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    skip: { type: 'string' },
    eval: { type: 'string', default: process.env.ORB_BENCH_EVAL },
    timeout: { type: 'string' },
    list: { type: 'boolean', default: false },
  },
});

/** Small sizes for --quick, by benchmark; one not listed runs as it is. */
const QUICK = {
  ingest: ['--spans', '20000', '--naive', '1000'],
  embed: ['--texts', '64'],
  query: ['--sizes', '10000', '--runs', '5'],
  storage: ['--rows', '20000'],
  snapshot: ['--rows', '20000', '--runs', '1'],
  recall: ['--world', 'new-wording'],
  'recall-model': ['--model', 'use-lite'],
  'recall-hybrid': ['--rows', '20000', '--time-rows', '20000'],
  'query-under-ingest': ['--rows', '5000', '--runs', '10'],
  routing: ['--tasks', '100'],
  dashboard: ['--rows', '20000', '--loads', '3', '--runs', '3'],
};
/** Benchmarks that read the similar-task set (--eval): required by these, optional for the others. */
const NEEDS_EVAL = new Set(['recall', 'recall-model', 'recall-hybrid', 'recall-cv', 'recall-explore', 'routing']);
const TAKES_EVAL = new Set([...NEEDS_EVAL, 'embed', 'query', 'dashboard']);

const list = (s) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : []);
const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts;
const benches = Object.entries(scripts)
  .filter(([name]) => name.startsWith('bench:'))
  .map(([name, cmd]) => {
    // "npm run build && node [flags] dist/bench/x.js": the build is done once, before the round.
    const argv = cmd.replace(/^npm run build && /, '').split(/\s+/);
    if (argv[0] !== 'node') throw new Error(`${name}: expected "npm run build && node …", got ${cmd}`);
    return { name: name.slice('bench:'.length), args: argv.slice(1) };
  });

const unknown = [...list(values.only), ...list(values.skip)].filter((n) => !benches.some((b) => b.name === n));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')} (known: ${benches.map((b) => b.name).join(', ')})`);
  process.exit(2);
}
if (values.list) {
  for (const b of benches) console.log(`${b.name.padEnd(14)} node ${b.args.join(' ')}${values.quick && QUICK[b.name] ? ` ${QUICK[b.name].join(' ')}` : ''}`);
  process.exit(0);
}
const only = list(values.only);
const skip = new Set(list(values.skip));
const timeoutMs = values.timeout ? Number(values.timeout) * 60_000 : null;
if (timeoutMs !== null && !(timeoutMs > 0)) {
  console.error(`--timeout: expected minutes > 0, got ${values.timeout}`);
  process.exit(2);
}

function run(b, extra) {
  return new Promise((resolve) => {
    const started = performance.now();
    // detached: the benchmark leads its own process group, so a timeout stops what it spawned too.
    const child = spawn(process.execPath, [...b.args, ...extra], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let last = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      const lines = String(d).split('\n').map((l) => l.trim()).filter(Boolean);
      if (lines.length) last = lines.at(-1);
    });
    let timedOut = false;
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }, timeoutMs)
      : null;
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const status = timedOut ? `killed after ${values.timeout} min` : code === 0 ? 'ok' : `failed (exit ${code})`;
      resolve({ name: b.name, status, seconds: (performance.now() - started) / 1000, last });
    });
  });
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const startLoad = load();
console.log(`orb-learn benchmarks${values.quick ? ' (quick sizes)' : ''}: ${new Date().toISOString()}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${startLoad}`);
const results = [];
for (const b of benches) {
  if ((only.length && !only.includes(b.name)) || skip.has(b.name)) continue;
  const extra = [...(values.quick ? (QUICK[b.name] ?? []) : []), ...(values.eval && TAKES_EVAL.has(b.name) ? ['--eval', values.eval] : [])];
  console.log(`\n=== bench:${b.name}: node ${[...b.args, ...extra].join(' ')}`);
  results.push(await run(b, extra));
}

const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
console.log(`\n=== summary${values.quick ? ' (quick sizes: not the recorded figures)' : ''}; load average ${startLoad} at the start, ${load()} at the end`);
for (const r of results) console.log(`${r.name.padEnd(14)} ${r.status.padEnd(20)} ${`${r.seconds.toFixed(0)} s`.padStart(7)}  ${clip(r.last, 110)}`);
process.exit(results.some((r) => r.status !== 'ok' && r.status !== 'skipped') ? 1 : 0);
