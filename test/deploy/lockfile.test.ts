// The committed lockfile installs with `npm ci` (the Dockerfile's first step), on every platform the
// native dependencies publish binaries for, and the install scripts are reviewed (allowScripts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { tempDir } from '../helpers/server.js';

interface LockEntry {
  version?: string;
  optional?: boolean;
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  hasInstallScript?: boolean;
}
interface Lock {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}
interface Manifest {
  workspaces?: string[];
  allowScripts?: Record<string, boolean>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const lock = readJson<Lock>(join(PACKAGE_ROOT, 'package-lock.json'));
const manifest = readJson<Manifest>(join(PACKAGE_ROOT, 'package.json'));

/** Where npm finds `name` for the package at `from`: the nearest node_modules up the tree. */
function resolveInLock(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const key = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (lock.packages[key]) return key;
    if (dir === '') return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

/** The files npm reads to check a lockfile: the root and every workspace's package.json. */
function copyManifests(to: string): void {
  for (const f of ['package.json', 'package-lock.json', '.npmrc']) copyFileSync(join(PACKAGE_ROOT, f), join(to, f));
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === '' || key.startsWith('node_modules/') || key.includes('/node_modules/') || entry.link) continue;
    mkdirSync(join(to, key), { recursive: true });
    copyFileSync(join(PACKAGE_ROOT, key, 'package.json'), join(to, key, 'package.json'));
  }
}

describe('package-lock.json', () => {
  it('agrees with package.json: `npm ci --dry-run --ignore-scripts` passes on the manifests alone', () => {
    const dir = tempDir('orb-lock-');
    try {
      copyManifests(dir);
      // --dry-run reads and checks the lockfile against package.json without fetching a tarball.
      const r = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
      assert.equal(r.status, 0, `npm ci refused the committed lockfile:\n${r.stderr}`);
      assert.ok(!existsSync(join(dir, 'node_modules')), '--dry-run wrote node_modules');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds an entry for every optional dependency, every platform included (DuckDB, onnxruntime, ...)', () => {
    assert.ok(lock.lockfileVersion >= 2, 'a lockfile v2/v3 (packages section)');
    const missing: string[] = [];
    for (const [key, entry] of Object.entries(lock.packages)) {
      for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
        if (!resolveInLock(key, name)) missing.push(`${name}@${range} (wanted by ${key || 'the root'})`);
      }
    }
    assert.deepEqual(missing, [], 'optional dependencies missing from the lockfile: npm ci calls it out of sync and that platform gets no binary');
    // Spelled out for the one that broke the image: every platform DuckDB publishes.
    const bindings = lock.packages['node_modules/@duckdb/node-bindings'];
    assert.ok(bindings?.optionalDependencies, '@duckdb/node-bindings is locked with its platform packages');
    const platforms = Object.keys(bindings.optionalDependencies);
    for (const p of ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'win32-x64']) {
      assert.ok(platforms.includes(`@duckdb/node-bindings-${p}`), `DuckDB publishes ${p}`);
    }
    for (const p of platforms) assert.equal(lock.packages[`node_modules/${p}`]?.version, bindings.version, `${p} is locked at DuckDB's version`);
  });

  it('every dependency with an install script is approved or denied in allowScripts', () => {
    const allow = manifest.allowScripts ?? {};
    const nameOf = (key: string) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const unreviewed = Object.entries(lock.packages)
      .filter(([key, e]) => key !== '' && e.hasInstallScript && !e.link)
      .map(([key, e]) => `${nameOf(key)}@${e.version}`)
      .filter((id) => !Object.keys(allow).some((k) => k === id || k === id.slice(0, id.lastIndexOf('@'))));
    assert.deepEqual(unreviewed, [], 'run `npm install-scripts ls`, read the script, then approve or deny it');
    // What the project needs: usearch compiles its binding where no prebuild fits; esbuild (the
    // dashboard's bundler, a dev dependency) checks its platform binary and fetches it from the npm
    // registry when the optional package is missing. onnxruntime-node's postinstall only downloads
    // CUDA providers (the CPU binaries ship in the package); protobufjs's only prints a warning.
    assert.equal(allow['usearch'], true);
    assert.equal(allow['esbuild'], true);
    assert.equal(allow['onnxruntime-node'], false);
    assert.equal(allow['protobufjs'], false);
  });
});
