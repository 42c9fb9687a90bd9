// One --server URL with a token and TLS options for every HTTP-speaking command (query, feedback add,
// policy), against real servers: plain, HTTPS with a token, and mTLS. Errors name the URL and what
// to try; readers refuse a missing database instead of creating one.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { CLI } from '../helpers/process.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { spawn } from 'node:child_process';

const TOKEN = 'cli-token-0123456789abcdef';

/** The CLI in a folder of its own, with none of the ORB_* settings of the caller's environment. */
function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ORB_')));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const hostPort = (url: string) => url.replace(/^https?:\/\//, '');

async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('CLI against an HTTPS server with a bearer token', () => {
  let certs: TestCerts;
  let t: TestServer;
  let https: string;
  before(async () => {
    certs = makeCerts(tempDir('orb-cli-certs-'));
    t = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, authToken: TOKEN });
    https = t.httpUrl.replace('http://', 'https://');
  });
  after(async () => {
    await t.close();
    rmSync(certs.dir, { recursive: true, force: true });
  });

  it('query, feedback add and policy all take --server https://…, --ca and --auth-token', async () => {
    const server = ['--server', https, '--ca', certs.ca, '--auth-token', TOKEN];
    const q = await cli(['query', 'tiers', '--json', ...server]);
    assert.equal(q.code, 0, q.stderr);
    assert.deepEqual(JSON.parse(q.stdout).rows, []);
    const id = randomUUID();
    const fb = await cli(['feedback', 'add', '--task-id', id, '--rating', '4', ...server]);
    assert.equal(fb.code, 0, fb.stderr);
    assert.match(fb.stdout, /stored \(server\)/);
    assert.equal((await t.rows(`SELECT rating FROM feedback WHERE task_id = '${id}'`))[0]?.rating, 4);
    // The same from the environment: ORB_SERVER, ORB_CA, ORB_AUTH_TOKEN.
    const env = { ORB_SERVER: https, ORB_CA: certs.ca, ORB_AUTH_TOKEN: TOKEN };
    const set = await cli(['policy', 'set', '--repo', 'svc', '--maturity', 'mature'], { env });
    assert.equal(set.code, 0, set.stderr);
    const list = await cli(['policy', 'list', '--json'], { env });
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual((JSON.parse(list.stdout) as { repo: string }[]).map((p) => p.repo), ['svc']);
  });

  it('says what to try: an untrusted certificate, a missing token, plain http to a TLS port', async () => {
    const noCa = await cli(['query', 'tiers', '--server', https, '--auth-token', TOKEN]);
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, new RegExp(`certificate of ${https} is not trusted .*give --ca FILE`));
    const noToken = await cli(['feedback', 'add', '--task-id', randomUUID(), '--server', https, '--ca', certs.ca]);
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /HTTP 401: missing bearer token.*give --auth-token TOKEN, --auth-token-file FILE or ORB_AUTH_TOKEN/);
    const wrong = await cli(['policy', 'list', '--server', https, '--ca', certs.ca, '--auth-token', 'not-the-token-0123456789']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /HTTP 401.*the server refused this token/);
    const plain = await cli(['query', 'tiers', '--server', t.httpUrl, '--auth-token', TOKEN]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, new RegExp(`${t.httpUrl} closed the connection without an HTTP answer .*write https://`));
    assert.doesNotMatch(plain.stderr, /fetch failed/);
    const caOnHttp = await cli(['query', 'tiers', '--server', t.httpUrl, '--ca', certs.ca]);
    assert.match(caOnHttp.stderr, /--ca and --client-cert are for https/);
  });
});

describe('reembed and archive', () => {
  it('refuse a database that does not exist, and create nothing', async () => {
    const dir = tempDir('orb-cli-missing-');
    try {
      for (const args of [['reembed'], ['archive', '--older-than', '90d']]) {
        const r = await cli([...args, '--db', join(dir, 'sub', 'typo.duckdb')]);
        assert.equal(r.code, 1, args[0]);
        assert.match(r.stderr, /no database at .*typo\.duckdb: give --db PATH of an existing database \(nothing was created\)/);
      }
      assert.ok(!existsSync(join(dir, 'sub')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reembed hands the work to the HTTPS server that holds the file, with its token', async () => {
    const certs = makeCerts(tempDir('orb-cli-reembed-'));
    const { writeTinyModel } = await import('../helpers/tiny-model.js');
    const t = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, authToken: TOKEN, embed: true, modelDir: writeTinyModel(join(certs.dir, 'tiny')) });
    try {
      const https = t.httpUrl.replace('http://', 'https://');
      const r = await cli(['reembed', '--db', join(t.dir, 'learning.duckdb'), '--server', https, '--ca', certs.ca, '--auth-token', TOKEN]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`0 of 0 executions have a \\S+ vector \\(done by the server at ${https}\\)`));
      const denied = await cli(['reembed', '--db', join(t.dir, 'learning.duckdb'), '--server', https, '--ca', certs.ca]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /held by another process .*asking the server failed: .*HTTP 401/);
    } finally {
      await t.close();
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });
});

describe('CLI against an mTLS server', () => {
  let certs: TestCerts;
  let t: TestServer;
  before(async () => {
    certs = makeCerts(tempDir('orb-cli-mtls-'));
    t = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsClientCa: certs.ca });
  });
  after(async () => {
    await t.close();
    rmSync(certs.dir, { recursive: true, force: true });
  });

  it('presents --client-cert/--client-key, and without them says to', async () => {
    const https = t.httpUrl.replace('http://', 'https://');
    const ok = await cli(['query', 'rejected', '--json', '--server', https, '--ca', certs.ca, '--client-cert', certs.clientCert, '--client-key', certs.clientKey]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).answer.rejected, 0);
    const without = await cli(['policy', 'list', '--server', https, '--ca', certs.ca]);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /client certificate required.*give --client-cert FILE and --client-key FILE/);
    const half = await cli(['policy', 'list', '--server', https, '--ca', certs.ca, '--client-cert', certs.clientCert]);
    assert.match(half.stderr, /--client-cert and --client-key go together/);
  });
});

describe('CLI against a plain server, and against none', () => {
  let t: TestServer;
  let dir: string;
  before(async () => {
    t = await startTestServer();
    dir = tempDir('orb-cli-none-');
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the gRPC port when given it, and https to a plain port', async () => {
    const grpc = await cli(['query', 'tiers', '--server', t.grpcUrl]);
    assert.equal(grpc.code, 1);
    assert.match(grpc.stderr, new RegExp(`${t.grpcUrl} answered, but not in HTTP/1\\.1 .*OTLP/gRPC port \\(4317 by default\\) speaks HTTP/2 only: .* HTTP port \\(4318 by default\\)`));
    const tls = await cli(['feedback', 'add', '--task-id', randomUUID(), '--server', t.httpUrl.replace('http://', 'https://')]);
    assert.equal(tls.code, 1);
    assert.match(tls.stderr, /does not speak TLS .*try http:\/\/ instead of https:\/\//);
    const bare = await cli(['query', 'tiers', '--json', '--server', hostPort(t.httpUrl)]);
    assert.equal(bare.code, 0, 'HOST:PORT means http://HOST:PORT');
  });

  it('refuses to read or write a database that does not exist, and creates nothing', async () => {
    const port = await closedPort();
    // Nothing listens at the server the settings point at, and there is no ./data in this folder.
    const env = { ORB_HTTP: `127.0.0.1:${port}` };
    const q = await cli(['query', 'tiers'], { cwd: dir, env });
    assert.equal(q.code, 1);
    assert.match(q.stderr, new RegExp(`nothing listens at http://127\\.0\\.0\\.1:${port} \\(connection refused\\).*no database at \\./data/learning\\.duckdb to read instead`));
    assert.doesNotMatch(q.stderr, /--db to ask|without --db/, 'no --db was given: it is not blamed');
    const fb = await cli(['feedback', 'add', '--task-id', randomUUID(), '--rating', '3'], { cwd: dir, env });
    assert.equal(fb.code, 1);
    assert.match(fb.stderr, /no database at \.\/data\/learning\.duckdb to write instead/);
    const typo = await cli(['query', 'tiers', '--db', join(dir, 'no', 'typo.duckdb')], { cwd: dir });
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /no database at .*typo\.duckdb.*nothing was created/);
    assert.ok(!existsSync(join(dir, 'data')) && !existsSync(join(dir, 'no')), 'no file or folder was created');
    // An explicit server that is down is an error, never a silent switch to the file.
    mkdirSync(join(dir, 'data'));
    const down = await cli(['query', 'tiers', '--server', `http://127.0.0.1:${port}`], { cwd: dir });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /nothing listens at/);
  });

  it('still takes the old --http HOST:PORT, saying what to write instead', async () => {
    const r = await cli(['query', 'tiers', '--json', '--http', hostPort(t.httpUrl)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`--http is deprecated here: write --server http://${hostPort(t.httpUrl)}`));
  });
});
