import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create } from 'tar';
import { ChecksumError, pullModel, type PullManifest } from '../../src/embed/pull.js';
import { runCli } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';
import { writeTinyModel } from '../helpers/tiny-model.js';

describe('model pull against a local mirror', () => {
  let dir: string;
  let server: Server;
  let mirror: string;
  let archive: Buffer;
  let manifest: PullManifest;

  before(async () => {
    dir = tempDir();
    writeTinyModel(join(dir, 'src', 'onnx'), { layout: 'root' });
    await create({ gzip: true, file: join(dir, 'tiny.tar.gz'), cwd: join(dir, 'src') }, ['onnx']);
    archive = readFileSync(join(dir, 'tiny.tar.gz'));
    server = createServer((req, res) => {
      if (req.url === '/models/tiny.tar.gz') {
        res.writeHead(200, { 'content-length': archive.length }).end(archive);
      } else if (req.url === '/models/cut.tar.gz') {
        // Promises the whole archive, sends half, hangs up.
        res.writeHead(200, { 'content-length': archive.length });
        res.write(archive.subarray(0, archive.length >> 1), () => res.destroy());
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    manifest = {
      name: 'tiny',
      path: 'models/tiny.tar.gz',
      sha256: createHash('sha256').update(archive).digest('hex'),
      archiveRoot: 'onnx',
      defaultMirror: 'http://127.0.0.1:9',
      source: 'test fixture',
    };
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('downloads, verifies the checksum and installs the export', async () => {
    const cache = join(dir, 'cache-ok');
    const seen: number[] = [];
    const files = await pullModel({ manifest, cacheDir: cache, mirror, progress: { start: (t) => seen.push(t), update: () => undefined, stop: () => undefined } });
    assert.equal(files.dir, join(cache, 'tiny'));
    assert.ok(existsSync(join(cache, 'tiny', 'model.onnx')));
    assert.ok(existsSync(join(cache, 'tiny', 'tokenizer.json')));
    assert.deepEqual(seen, [archive.length], 'progress knew the total');
    assert.deepEqual(readdirSync(cache), ['tiny'], 'no temp folder left');
  });

  it('refuses a checksum mismatch and leaves nothing half-written', async () => {
    const cache = join(dir, 'cache-bad');
    await assert.rejects(pullModel({ manifest: { ...manifest, sha256: '0'.repeat(64) }, cacheDir: cache, mirror }), (e: unknown) => {
      assert.ok(e instanceof ChecksumError);
      assert.match(e.message, /checksum mismatch .* expected sha256 0{64}, got [0-9a-f]{64}; nothing was installed/);
      return true;
    });
    assert.deepEqual(readdirSync(cache), []);
  });

  it('fails an interrupted download cleanly, and a rerun succeeds', async () => {
    const cache = join(dir, 'cache-cut');
    await assert.rejects(pullModel({ manifest: { ...manifest, path: 'models/cut.tar.gz' }, cacheDir: cache, mirror }));
    assert.deepEqual(readdirSync(cache), [], 'nothing left behind');
    await pullModel({ manifest, cacheDir: cache, mirror });
    assert.deepEqual(readdirSync(cache), ['tiny']);
  });

  it('works from the command line with --manifest and --mirror, then model info names it', async () => {
    const cache = join(dir, 'cache-cli');
    const file = join(dir, 'manifest.json');
    writeFileSync(file, JSON.stringify(manifest));
    const pull = await runCli(['model', 'pull', '--manifest', file, '--mirror', mirror, '--model-cache-dir', cache]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /^installed tiny@[0-9a-f]{12} in /);
    const info = await runCli(['model', 'info', '--json', '--model-dir', join(cache, 'tiny')]);
    assert.equal(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout);
    assert.equal(parsed.dimension, 16);
    assert.equal(parsed.origin, 'model-dir');
    const bad = await runCli(['model', 'pull', 'no-such-model', '--model-cache-dir', cache]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown model "no-such-model"/);
  });
});
