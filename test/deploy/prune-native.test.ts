// scripts/prune-native.mjs, which the image's prod-deps stage runs: it keeps only this platform's
// native binaries, and onnxruntime-node and usearch still load from the pruned tree.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { tempDir } from '../helpers/server.js';

const SCRIPT = join(PACKAGE_ROOT, 'scripts', 'prune-native.mjs');
const NM = join(PACKAGE_ROOT, 'node_modules');

/** A node_modules of hard links (cheap) holding the two packages and what they load. */
function linkedCopy(dir: string): string {
  const nm = join(dir, 'node_modules');
  mkdirSync(nm, { recursive: true });
  for (const pkg of ['onnxruntime-node', 'onnxruntime-common', 'usearch', 'node-gyp-build', 'bindings', 'file-uri-to-path']) {
    if (existsSync(join(NM, pkg))) execFileSync('cp', ['-al', join(NM, pkg), join(nm, pkg)]);
  }
  return nm;
}

describe('scripts/prune-native.mjs', () => {
  it('keeps only this platform’s onnxruntime and usearch binaries, and both still load', () => {
    const dir = tempDir('orb-prune-');
    try {
      const nm = linkedCopy(dir);
      const out = execFileSync(process.execPath, [SCRIPT, nm], { encoding: 'utf8' });
      assert.match(out, new RegExp(`freed \\d+\\.\\d MB for ${process.platform}/${process.arch}`));
      assert.deepEqual(readdirSync(join(nm, 'onnxruntime-node', 'bin', 'napi-v6')), [process.platform]);
      assert.deepEqual(readdirSync(join(nm, 'onnxruntime-node', 'bin', 'napi-v6', process.platform)), [process.arch]);
      assert.deepEqual(readdirSync(join(nm, 'usearch', 'prebuilds')), [`${process.platform}-${process.arch}`]);
      assert.ok(existsSync(join(NM, 'onnxruntime-node', 'bin', 'napi-v6', 'win32')), 'the original tree is untouched (links, not the files, were removed)');
      const load = spawnSync(
        process.execPath,
        ['-e', "const ort = require('onnxruntime-node'); const u = require('usearch'); const i = new u.Index({ dimensions: 2, metric: 'cos' }); i.add(1n, new Float32Array([1, 0])); console.log(typeof ort.InferenceSession.create, i.size())"],
        { cwd: dir, encoding: 'utf8' },
      );
      assert.equal(load.status, 0, load.stderr);
      assert.equal(load.stdout.trim(), 'function 1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses, removing nothing, when no binary fits the target platform', () => {
    const dir = tempDir('orb-prune-');
    try {
      const nm = linkedCopy(dir);
      const r = spawnSync(process.execPath, [SCRIPT, nm, '--platform', 'freebsd'], { encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /onnxruntime-node: no binary for freebsd\//);
      assert.ok(existsSync(join(nm, 'onnxruntime-node', 'bin', 'napi-v6', 'win32')), 'nothing was removed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs in the image’s prod-deps stage after the prune, and the runtime holds the emitter workspace', () => {
    const dockerfile = readFileSync(join(PACKAGE_ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /FROM build AS prod-deps\nRUN npm prune --omit=dev [^\n]*&& node scripts\/prune-native\.mjs node_modules/);
    assert.match(dockerfile, /COPY scripts\/prune-native\.mjs/);
    const manifest = dockerfile.indexOf('COPY packages/emitter/package.json ./packages/emitter/package.json');
    assert.ok(manifest > 0 && manifest < dockerfile.indexOf('RUN npm ci'), 'the workspace manifest is there before npm ci checks the lockfile');
    assert.match(dockerfile, /COPY --from=build \/app\/packages\/emitter\/dist \.\/packages\/emitter\/dist/);
    const license = readFileSync(join(PACKAGE_ROOT, 'LICENSE'), 'utf8');
    assert.match(license, /^\s+Apache License\n\s+Version 2\.0, January 2004/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
    assert.equal((JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { license: string }).license, 'Apache-2.0');
  });
});
