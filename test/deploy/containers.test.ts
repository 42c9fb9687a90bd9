// docker-compose.yml and the Dockerfile agree with the code: settings that exist, ports that match
// the listeners and the collector, /readyz, data on volumes, a non-root image that runs `serve`.
// (No Docker engine here: the files are parsed, and the health probe runs against a real server.)
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONFIG_KEYS, envName, loadConfig, type Config } from '../../src/config/config.js';
import { splitHostPort } from '../../src/host.js';
import { PACKAGE_ROOT, PROTO_DIR, SCHEMA_DIR } from '../../src/paths.js';
import { defaultSnapshotPath } from '../../src/store/snapshot.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { COLLECTOR_CONFIG_DIR, hostOf, learningEndpoints, learningExporters, loadCollectorConfig, parseYamlStrict, portOf } from './collector.js';

const root = (p: string) => join(PACKAGE_ROOT, p);

// ---- the Dockerfile, line by line ----

interface Instruction {
  cmd: string;
  args: string;
  stage: string;
}

function parseDockerfile(text: string): { stages: string[]; instructions: Instruction[] } {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const instructions: Instruction[] = [];
  const stages: string[] = [];
  let stage = '';
  for (const line of joined.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    assert.ok(m, `Dockerfile: cannot read "${line}"`);
    const cmd = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ');
    if (cmd === 'FROM') {
      stage = /\sAS\s+(\S+)$/i.exec(args)?.[1] ?? `stage-${stages.length}`;
      stages.push(stage);
    }
    instructions.push({ cmd, args, stage });
  }
  return { stages, instructions };
}

/** `["node", "x"]` (exec form) or `node x` (shell form) → words. */
function words(args: string): string[] {
  const a = args.trim();
  return a.startsWith('[') ? (JSON.parse(a) as string[]) : a.split(/\s+/);
}

/** ENV a=b c="d" → {a: 'b', c: 'd'}. */
function envOf(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  return out;
}

/** Would .dockerignore keep `path` (relative to the context) out of the build context? */
function dockerignored(path: string, patterns: string[]): boolean {
  const toRegex = (p: string) =>
    new RegExp(
      `^${p
        .replace(/^\/|\/$/g, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '\u0000')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/\u0000/g, '.*')}(/.*)?$`,
    );
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    if (toRegex(negate ? raw.slice(1) : raw).test(path)) ignored = !negate;
  }
  return ignored;
}

// ---- docker-compose.yml ----

interface Service {
  image?: string;
  build?: { context?: string; target?: string; args?: Record<string, string> } | string;
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }> | string[];
  user?: string;
}

function environment(s: Service): Record<string, string> {
  if (!s.environment) return {};
  if (Array.isArray(s.environment)) return Object.fromEntries(s.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, String(v)]));
}

/** `source:target[:mode]` → parts. */
function mounts(s: Service): { source: string; target: string }[] {
  return (s.volumes ?? []).map((v) => {
    const [source, target] = v.split(':');
    return { source: source!, target: target! };
  });
}

/** Container ports a service offers: `expose` and the container side of `ports`. */
function containerPorts(s: Service): Set<number> {
  const ports = new Set((s.expose ?? []).map(Number));
  for (const p of s.ports ?? []) ports.add(Number(String(p).split(':').pop()!.split('/')[0]));
  return ports;
}

const last = (is: Instruction[], cmd: string) => [...is].reverse().find((i) => i.cmd === cmd);
const command = (s: Service) => (Array.isArray(s.command) ? s.command : s.command ? s.command.split(/\s+/) : []);
const dependsOn = (s: Service) => (Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, { condition: 'service_started' }])) : (s.depends_on ?? {}));

/** Is `path` on a mount of a volume declared at the top level? */
function onDeclaredVolume(s: Service, path: string, declared: Record<string, unknown>): string | undefined {
  return mounts(s).find((m) => Object.hasOwn(declared, m.source) && (path === m.target || path.startsWith(`${m.target}/`)))?.source;
}

describe('Dockerfile and docker-compose.yml', () => {
  const compose = parseYamlStrict(readFileSync(root('docker-compose.yml'), 'utf8'), 'docker-compose.yml') as {
    services: Record<string, Service>;
    volumes?: Record<string, unknown>;
  };
  const services = compose.services;
  const declaredVolumes = compose.volumes ?? {};
  const dockerfile = parseDockerfile(readFileSync(root('Dockerfile'), 'utf8'));
  const runtimeStage = dockerfile.stages.at(-1)!;
  const runtime = dockerfile.instructions.filter((i) => i.stage === runtimeStage);
  const imageEnv: Record<string, string> = Object.assign({}, ...runtime.filter((i) => i.cmd === 'ENV').map((i) => envOf(i.args)));
  const orb = services['orb-learn']!;
  /** What orb-learn runs with in compose: the image's ENV, then the service's environment. */
  const orbEnv = { ...imageEnv, ...environment(orb) };
  let orbConfig: Config;

  it('has the collector, orb-learn, Jaeger and the demo emitter', () => {
    for (const s of ['otel-collector', 'orb-learn', 'jaeger', 'demo']) assert.ok(services[s], `service ${s}`);
    assert.match(String(services['otel-collector']!.image), /^otel\/opentelemetry-collector-contrib:/);
    assert.match(String(services.jaeger!.image), /^jaegertracing\/all-in-one:/);
  });

  it('pins image versions, and the collector is new enough for otlp_grpc (≥ 0.144)', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.image || s.build) continue;
      const tag = s.image.split(':')[1];
      assert.ok(tag && tag !== 'latest', `${name}: ${s.image} has a pinned tag`);
    }
    const [major, minor] = String(services['otel-collector']!.image).split(':')[1]!.split('.').map(Number);
    assert.ok(major! > 0 || minor! >= 144, 'otelcol-contrib ≥ 0.144');
  });

  it('gives orb-learn only real settings, with valid values (image ENV and compose environment)', () => {
    for (const [where, env] of [['Dockerfile ENV', imageEnv], ['compose environment', environment(orb)]] as const)
      for (const k of Object.keys(env).filter((k) => k.startsWith('ORB_')))
        assert.ok(CONFIG_KEYS.some((c) => envName(c) === k) || k === 'ORB_CONFIG', `${where}: ${k} is a setting of src/config/config.ts`);
    orbConfig = loadConfig({ env: orbEnv });
    const image = loadConfig({ env: imageEnv });
    assert.equal(image.grpc, orbConfig.grpc, 'the image and compose agree on the gRPC address');
    assert.equal(image.http, orbConfig.http, 'the image and compose agree on the HTTP address');
  });

  it('listens on all interfaces in a container, on the ports it exposes', () => {
    orbConfig ??= loadConfig({ env: orbEnv });
    const grpc = splitHostPort(orbConfig.grpc);
    const http = splitHostPort(orbConfig.http);
    for (const a of [grpc, http]) assert.ok(a.host === '0.0.0.0' || a.host === '::', `${a.host}: reachable from other containers`);
    const want = [grpc.port, http.port].sort();
    assert.deepEqual([...containerPorts(orb)].sort(), want, 'compose exposes the ports of ORB_GRPC and ORB_HTTP');
    const exposed = runtime.filter((i) => i.cmd === 'EXPOSE').flatMap((i) => words(i.args).map((p) => Number(p.split('/')[0])));
    assert.deepEqual(exposed.sort(), want, 'the Dockerfile EXPOSEs the same ports');
  });

  it("points the collector's learning exporter at the orb-learn service's gRPC port", () => {
    orbConfig ??= loadConfig({ env: orbEnv });
    const collector = services['otel-collector']!;
    const config = mounts(collector).find((m) => m.source.startsWith('./collector-config/'));
    assert.ok(config, 'the collector mounts a file from collector-config/');
    const file = relative(COLLECTOR_CONFIG_DIR, root(config.source));
    const c = loadCollectorConfig(file);
    const [learning, ...more] = learningExporters(c);
    assert.ok(learning && more.length === 0, 'one learning exporter');
    assert.deepEqual(learningEndpoints(learning.exporter, learning.cfg), [`orb-learn:${splitHostPort(orbConfig.grpc).port}`]);
    for (const [id, cfg] of Object.entries(c.components.exporters)) {
      if (id === learning.exporter || typeof cfg.endpoint !== 'string') continue;
      const host = hostOf(cfg.endpoint);
      assert.ok(services[host], `${id} → ${cfg.endpoint}: ${host} is a compose service`);
      assert.ok(containerPorts(services[host]!).has(portOf(cfg.endpoint)), `${host} offers port ${portOf(cfg.endpoint)}`);
    }
  });

  it('mounts a collector config that exists, where the collector reads it', () => {
    const collector = services['otel-collector']!;
    const config = mounts(collector).find((m) => m.source.startsWith('./collector-config/'))!;
    assert.ok(existsSync(root(config.source)), `${config.source} exists`);
    const flag = command(collector).find((a) => a.startsWith('--config'));
    const path = flag ? flag.replace(/^--config[= ]/, '') : '/etc/otelcol-contrib/config.yaml';
    assert.equal(config.target, path, 'the mount is the file --config names');
  });

  it("keeps the collector's queue on a declared volume", () => {
    const collector = services['otel-collector']!;
    const file = relative(COLLECTOR_CONFIG_DIR, root(mounts(collector).find((m) => m.source.startsWith('./collector-config/'))!.source));
    const c = loadCollectorConfig(file);
    const dirs = Object.entries(c.components.extensions).filter(([id]) => id.startsWith('file_storage')).map(([, cfg]) => String(cfg.directory));
    assert.ok(dirs.length > 0, 'a file_storage extension');
    for (const d of dirs) assert.ok(onDeclaredVolume(collector, d, declaredVolumes), `${d} is on a declared volume`);
  });

  it('keeps the database and the model cache on declared volumes that the image prepares for its user', () => {
    orbConfig ??= loadConfig({ env: orbEnv });
    assert.ok(orbConfig.modelCacheDir, 'the model cache directory is set');
    for (const [what, path, dir] of [
      ['the database', orbConfig.db, posix.dirname(orbConfig.db)],
      ['the model cache', orbConfig.modelCacheDir, orbConfig.modelCacheDir],
    ] as const) {
      assert.ok(onDeclaredVolume(orb, path, declaredVolumes), `${what} (${path}) is on a declared volume`);
      assert.ok(
        runtime.some((i) => i.cmd === 'RUN' && i.args.includes('chown') && i.args.includes(dir)),
        `the image creates ${dir} for its user (a new volume copies its owner)`,
      );
    }
  });

  it('checks health on /readyz, in the image and in compose, with a probe the image holds', () => {
    const health = runtime.find((i) => i.cmd === 'HEALTHCHECK');
    assert.ok(health && health.args.includes('/readyz'), 'Dockerfile HEALTHCHECK probes /readyz');
    const test = orb.healthcheck?.test;
    assert.ok(Array.isArray(test) && test.includes('/readyz'), 'compose healthcheck probes /readyz');
    const script = (Array.isArray(test) ? test : []).find((w) => w.endsWith('.mjs'))!;
    assert.ok(existsSync(root(script)), `${script} exists`);
    assert.ok(
      runtime.some((i) => i.cmd === 'COPY' && words(i.args).includes(`./${script}`)),
      `the runtime image holds ${script}`,
    );
  });

  it('runs as a non-root user, and runs `orb-learn serve`', () => {
    const users = runtime.filter((i) => i.cmd === 'USER').map((i) => i.args.split(':')[0]);
    assert.ok(users.length > 0, 'the runtime stage sets USER');
    assert.ok(!['root', '0'].includes(users.at(-1)!), `the runtime user is ${users.at(-1)}: it must not be root`);
    const entrypoint = words(last(runtime, 'ENTRYPOINT')?.args ?? '[]');
    const cmd = words(last(runtime, 'CMD')!.args);
    const argv = [...entrypoint, ...cmd];
    const bin = (JSON.parse(readFileSync(root('package.json'), 'utf8')) as { bin: Record<string, string> }).bin['orb-learn']!;
    assert.deepEqual(argv, ['node', bin, 'serve'], 'node <the orb-learn bin> serve');
  });

  it('builds with npm ci and npm run build, without CUDA, and tolerates a failed model pull', () => {
    const build = dockerfile.instructions.filter((i) => i.stage !== runtimeStage);
    const env = Object.assign({}, ...build.filter((i) => i.cmd === 'ENV').map((i) => envOf(i.args))) as Record<string, string>;
    assert.equal(env.ONNXRUNTIME_NODE_INSTALL_CUDA, 'skip');
    assert.ok(build.some((i) => i.cmd === 'RUN' && /\bnpm ci\b/.test(i.args)), 'npm ci');
    assert.ok(build.some((i) => i.cmd === 'RUN' && /\bnpm run build\b/.test(i.args)), 'npm run build');
    const pull = runtime.find((i) => i.cmd === 'RUN' && i.args.includes('model pull'));
    assert.ok(pull, 'the runtime stage can pull the model');
    assert.match(pull.args, /\$PULL_MODEL/, 'only when the build ARG asks');
    assert.match(pull.args, /model pull\s*\|\|/, 'a failed pull does not fail the build');
    assert.ok(runtime.some((i) => i.cmd === 'ARG' && i.args.startsWith('PULL_MODEL')), 'ARG PULL_MODEL');
    const modelDir = runtime.find((i) => i.cmd === 'ENV' && 'ORB_MODEL_DIR' in envOf(i.args));
    assert.ok(modelDir, 'ENV ORB_MODEL_DIR is declared for a mounted model');
    assert.equal(loadConfig({ env: imageEnv }).modelDir, undefined, 'left empty, it does not hide the cache and the offline model');
  });

  it('runs the model-pull step to success when the pull fails, and skips it with PULL_MODEL=0', () => {
    const pull = runtime.find((i) => i.cmd === 'RUN' && i.args.includes('model pull'))!;
    // What `RUN <shell form>` runs: /bin/sh -c, here with a `node` that fails as a pull without network does.
    const bin = tempDir('orb-fake-node-');
    writeFileSync(join(bin, 'node'), '#!/bin/sh\necho "fetch failed" >&2\nexit 1\n', { mode: 0o755 });
    const run = (pullModel: string) => spawnSync('/bin/sh', ['-c', pull.args], { env: { PATH: `${bin}:/usr/bin:/bin`, PULL_MODEL: pullModel }, encoding: 'utf8' });
    const failed = run('1');
    assert.equal(failed.status, 0, `the build step succeeds: ${failed.stderr}`);
    assert.match(failed.stderr, /fetch failed/, 'the pull was attempted');
    assert.match(failed.stderr, /offline model/, 'and the fallback is announced');
    const skipped = run('0');
    assert.equal(skipped.status, 0);
    assert.doesNotMatch(skipped.stderr, /fetch failed/, 'PULL_MODEL=0 does not try');
    rmSync(bin, { recursive: true, force: true });
  });

  it('copies into the image what the code reads at run time, from files the build context keeps', () => {
    const ignore = readFileSync(root('.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const i of dockerfile.instructions.filter((i) => i.cmd === 'COPY' && !i.args.startsWith('--from'))) {
      for (const src of words(i.args).slice(0, -1)) {
        assert.ok(existsSync(root(src)), `COPY ${src}: exists`);
        assert.ok(!dockerignored(src.replace(/^\.\//, ''), ignore), `COPY ${src}: not excluded by .dockerignore`);
      }
    }
    const copied = runtime.filter((i) => i.cmd === 'COPY').map((i) => words(i.args).at(-1)!.replace(/^\.\//, '').replace(/\/$/, ''));
    for (const dir of [PROTO_DIR, SCHEMA_DIR].map((d) => relative(PACKAGE_ROOT, d)))
      assert.ok(copied.includes(dir), `the runtime image holds ${dir}/ (src/paths.ts reads it)`);
    for (const need of ['dist/src', 'node_modules', 'package.json']) assert.ok(copied.includes(need), `the runtime image holds ${need}`);
    assert.ok(dockerignored('node_modules', ignore) && dockerignored('dist', ignore), 'host node_modules and dist stay out of the context');
  });

  it("builds orb-learn from this Dockerfile, and the demo from a stage of it that exists", () => {
    const build = (s: Service) => (typeof s.build === 'string' ? { context: s.build } : s.build);
    assert.equal(build(orb)?.context, '.');
    assert.ok(existsSync(join(root(build(orb)!.context!), 'Dockerfile')));
    assert.ok(Object.keys(build(orb)?.args ?? {}).every((a) => dockerfile.instructions.some((i) => i.cmd === 'ARG' && i.args.split('=')[0] === a)), 'build args are ARGs');
    const demo = build(services.demo!);
    assert.ok(demo?.target && dockerfile.stages.includes(demo.target), `demo target ${demo?.target} is a stage`);
  });

  it('starts the demo after orb-learn is ready, sending to the collector’s OTLP/HTTP receiver', () => {
    const demo = services.demo!;
    assert.equal(dependsOn(demo)['orb-learn']?.condition, 'service_healthy');
    assert.ok(dependsOn(demo)['otel-collector']);
    const collector = services['otel-collector']!;
    const c = loadCollectorConfig(relative(COLLECTOR_CONFIG_DIR, root(mounts(collector).find((m) => m.source.startsWith('./collector-config/'))!.source)));
    const httpEndpoint = String((c.components.receivers.otlp!.protocols as Record<string, { endpoint: string }>).http!.endpoint);
    const argv = command(demo);
    const flag = (name: string) => {
      const i = argv.indexOf(name);
      return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
    };
    assert.equal(flag('--collector'), `http://otel-collector:${portOf(httpEndpoint)}`, 'the demo targets the collector’s HTTP port');
  });

  it("has the demo query the orb-learn service's HTTP API, not its own container", () => {
    orbConfig ??= loadConfig({ env: orbEnv });
    const argv = command(services.demo!);
    const i = argv.indexOf('--orb-learn');
    assert.ok(i >= 0, 'the demo passes --orb-learn (its default, 127.0.0.1, is the demo container itself)');
    const url = new URL(argv[i + 1]!);
    assert.equal(url.hostname, 'orb-learn', '--orb-learn names the orb-learn service');
    assert.equal(Number(url.port), splitHostPort(orbConfig.http).port, "--orb-learn uses orb-learn's ORB_HTTP port");
    assert.ok(containerPorts(orb).has(Number(url.port)), 'orb-learn offers that port to other containers');
  });

  it('publishes ports on the host loopback only', () => {
    for (const [name, s] of Object.entries(services))
      for (const p of s.ports ?? []) {
        const parts = String(p).split(':');
        assert.ok(parts.length === 3 && ['127.0.0.1', '[::1]'].includes(parts[0]!), `${name}: "${p}" is published on 127.0.0.1 only`);
      }
  });

  it('pulls the MiniLM model at build time by default, in the Dockerfile and in compose', () => {
    const arg = runtime.find((i) => i.cmd === 'ARG' && i.args.startsWith('PULL_MODEL'));
    assert.equal(arg?.args, 'PULL_MODEL=1', 'ARG PULL_MODEL=1 in the runtime stage');
    const build = typeof orb.build === 'object' ? orb.build : {};
    const value = String(build.args?.PULL_MODEL ?? '');
    const m = /^\$\{\w+:-(\w*)\}$/.exec(value);
    assert.equal(m ? m[1] : value, '1', `compose passes PULL_MODEL=1 unless overridden (got ${value})`);
  });

  it("tells users to copy orb-learn's snapshot, never the database file being written", () => {
    orbConfig ??= loadConfig({ env: orbEnv });
    const text = readFileSync(root('docker-compose.yml'), 'utf8');
    const copies = [...text.matchAll(/docker compose cp orb-learn:(\S+)/g)].map((m) => m[1]);
    assert.ok(copies.length > 0, 'docker-compose.yml shows how to copy the data out');
    const snapshot = orbConfig.snapshotPath ?? defaultSnapshotPath(orbConfig.db);
    for (const c of copies) assert.equal(c, snapshot, 'the copy is of the snapshot orb-learn publishes');
    assert.ok(orbConfig.snapshotInterval > 0, 'snapshots are on in compose');
  });
});

/** Runs the probe in a child process (asynchronously: the server answers from this process). */
const probe = (env: Record<string, string>, path = '/readyz') =>
  new Promise<{ status: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [root('scripts/healthcheck.mjs'), path], { env: { PATH: process.env.PATH, ...env }, timeout: 15_000 }, (err, _out, stderr) =>
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });

describe('scripts/healthcheck.mjs (the container probe)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('exits 0 when orb-learn is ready', async () => {
    const r = await probe({ ORB_HTTP: `127.0.0.1:${t.server.httpPort}` });
    assert.equal(r.status, 0, r.stderr);
  });

  it('probes loopback when orb-learn listens on 0.0.0.0, as in the image', async () => {
    const r = await probe({ ORB_HTTP: `0.0.0.0:${t.server.httpPort}` });
    assert.equal(r.status, 0, r.stderr);
  });

  it('exits 1 on a non-2xx answer and when nothing listens', async () => {
    assert.equal((await probe({ ORB_HTTP: `127.0.0.1:${t.server.httpPort}` }, '/no-such-path')).status, 1);
    const closed = await probe({ ORB_HTTP: '127.0.0.1:9' });
    assert.equal(closed.status, 1);
    assert.match(closed.stderr, /healthcheck: /);
  });
});

describe('scripts/healthcheck.mjs with TLS configured (ORB_TLS_CERT / ORB_CONFIG)', () => {
  let certs: TestCerts;
  let tls: TestServer;
  let mtls: TestServer;
  const TOKEN = 'probe-needs-no-token-0123456789';
  before(async () => {
    certs = makeCerts(tempDir('orb-probe-certs-'));
    tls = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, authToken: TOKEN });
    mtls = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsClientCa: certs.ca, authToken: TOKEN });
  });
  after(async () => {
    await tls.close();
    await mtls.close();
    rmSync(certs.dir, { recursive: true, force: true });
  });

  /** The container's settings: the server's own certificate and key, as `orb-learn serve` reads them. */
  const tlsEnv = (t: TestServer, extra: Record<string, string> = {}) => ({
    ORB_HTTP: `0.0.0.0:${t.server.httpPort}`,
    ORB_TLS_CERT: certs.serverCert,
    ORB_TLS_KEY: certs.serverKey,
    ORB_AUTH_TOKEN: TOKEN,
    ...extra,
  });

  it('probes over https, without verifying the certificate (its CA is not in the probe’s trust store)', async () => {
    for (const path of ['/readyz', '/healthz']) {
      const r = await probe(tlsEnv(tls), path);
      assert.equal(r.status, 0, `${path}: ${r.stderr}`);
    }
    assert.equal((await probe(tlsEnv(tls), '/no-such-path')).status, 1, 'still fails on a non-2xx');
  });

  it('fails when it speaks plaintext to the TLS listener (so the passes above were https)', async () => {
    const r = await probe({ ORB_HTTP: `127.0.0.1:${tls.server.httpPort}` });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /healthcheck: /);
  });

  it('reads the TLS settings from ORB_CONFIG too', async () => {
    const file = join(certs.dir, 'orb-learn.yaml');
    writeFileSync(file, `http: 0.0.0.0:${tls.server.httpPort}\ntlsCert: ${certs.serverCert}\ntlsKey: ${certs.serverKey}\n`);
    const r = await probe({ ORB_CONFIG: file });
    assert.equal(r.status, 0, r.stderr);
  });

  it('passes under mTLS without a client certificate: /healthz and /readyz are open to probes', async () => {
    for (const path of ['/readyz', '/healthz']) {
      const r = await probe(tlsEnv(mtls, { ORB_TLS_CLIENT_CA: certs.ca }), path);
      assert.equal(r.status, 0, `${path}: ${r.stderr}`);
    }
    // The rest of the API still wants the client certificate the probe does not have.
    assert.equal((await probe(tlsEnv(mtls, { ORB_TLS_CLIENT_CA: certs.ca }), '/metrics')).status, 1);
  });
});
