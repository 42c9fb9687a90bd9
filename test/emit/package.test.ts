// @orb-learn/emitter on its own: packed as a producer would get it, installed into an empty project
// (without orb-learn's .npmrc), it brings zod and @opentelemetry/api and nothing else, and a span it
// decorated, exported by the real OTel SDK over OTLP/HTTP, lands in a real orb-learn.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const EMITTER_DIR = join(PACKAGE_ROOT, 'packages', 'emitter');
const rootManifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const dep = (name: string) => `${name}@${rootManifest.dependencies[name]}`;

function npm(args: string[], cwd: string): string {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  assert.equal(r.status, 0, `npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

/** Installed packages (scoped ones as @scope/name) under node_modules, hidden files aside. */
function installed(dir: string): string[] {
  const nm = join(dir, 'node_modules');
  return readdirSync(nm)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(nm, n)).map((m) => `${n}/${m}`) : [n]))
    .sort();
}

function bytesUnder(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) if (f.isFile()) n += statSync(join(f.parentPath, f.name)).size;
  return n;
}

describe('@orb-learn/emitter installs and works on its own', () => {
  let work: string;
  let producer: string;
  let tarball: string;
  let t: TestServer;

  before(async () => {
    work = tempDir('orb-emitter-pack-');
    producer = join(work, 'producer');
    // npm pack runs the package's prepack (tsc -b): the tarball is built from the sources.
    const out = spawnSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: EMITTER_DIR, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const [info] = JSON.parse(out.stdout.slice(out.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info!.filename);
    t = await startTestServer();
  });
  after(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('ships the compiled emitter, its schemas, a README and the licence, and no sources or server code', () => {
    const r = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
    const files = r.stdout.trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
    assert.deepEqual(files, ['LICENSE', 'README.md', 'dist/feedback.d.ts', 'dist/feedback.js', 'dist/index.d.ts', 'dist/index.js', 'dist/issues.d.ts', 'dist/issues.js', 'dist/record.d.ts', 'dist/record.js', 'package.json']);
    assert.equal(readFileSync(join(EMITTER_DIR, 'LICENSE'), 'utf8'), readFileSync(join(PACKAGE_ROOT, 'LICENSE'), 'utf8'));
  });

  it('installs into an empty project with zod and @opentelemetry/api only, no install script, well under 10 MB', () => {
    rmSync(producer, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', producer]);
    writeFileSync(join(producer, 'package.json'), JSON.stringify({ name: 'producer', version: '1.0.0', private: true, type: 'module' }));
    const log = npm(['install', tarball], producer);
    assert.doesNotMatch(log, /install-scripts|postinstall/i);
    assert.deepEqual(installed(producer), ['@opentelemetry/api', '@orb-learn/emitter', 'zod']);
    const mb = bytesUnder(join(producer, 'node_modules')) / 1e6;
    assert.ok(mb < 10, `node_modules is ${mb.toFixed(1)} MB`);
  });

  it('records an execution and feedback that a real orb-learn stores, through the producer’s own SDK', async () => {
    // The producer's own choice of SDK and exporter (the versions orb-learn tests with).
    npm(['install', dep('@opentelemetry/sdk-trace-base'), dep('@opentelemetry/exporter-trace-otlp-proto')], producer);
    const taskId = '7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
    writeFileSync(
      join(producer, 'emit.mjs'),
      `import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { recordExecution, recordFeedback, InvalidRecordError } from '@orb-learn/emitter';
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: process.argv[2] + '/v1/traces' }))] });
const tracer = provider.getTracer('producer');
const span = tracer.startSpan('agent.run');
try { recordExecution(span, { task_type: 'refactor', routing_confidence: 1.5 }); process.exit(3); } catch (e) { if (!(e instanceof InvalidRecordError)) throw e; }
recordExecution(span, { task_id: '${taskId}', task_type: 'refactor', task_description: 'Refactor the auth middleware to use JWT validation',
  repo: 'mahavishnu', model_tier: 'medium', pool_type: 'session-buddy', routing_confidence: 0.82, cost_estimate: 0.003, actual_cost: 0.0034 });
span.end();
const fb = tracer.startSpan('agent.feedback');
recordFeedback(fb, { task_id: '${taskId}', rating: 5, accepted: true });
fb.end();
await provider.forceFlush();
await provider.shutdown();
`,
    );
    // Not spawnSync: the server runs in this process and must keep answering.
    await promisify(execFile)(process.execPath, ['emit.mjs', t.httpUrl], { cwd: producer, timeout: 60_000 });
    const [row] = await t.rows(`SELECT task_type, model_tier, routing_confidence, user_rating, user_accepted FROM executions WHERE task_id = '${taskId}'`);
    assert.deepEqual(row, { task_type: 'refactor', model_tier: 'medium', routing_confidence: 0.82, user_rating: 5, user_accepted: true });
    const [rejected] = await t.rows('SELECT count(*)::INTEGER AS n FROM rejected_spans');
    assert.equal(rejected!.n, 0);
  });
});
