#!/usr/bin/env node
// Removes the native binaries that other platforms need from an installed node_modules: a container
// image runs on one platform, and onnxruntime-node alone ships 290 MB for six of them.
//   node scripts/prune-native.mjs [NODE_MODULES] [--platform linux] [--arch x64] [--dry-run]
// Keeps exactly the folder each package's loader picks for this platform and architecture (or the
// ones given), and refuses to prune a package whose layout it does not recognise, or that has no
// binary for the target at all: a pruned image that cannot load its runtime must not get built.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { platform: { type: 'string', default: process.platform }, arch: { type: 'string', default: process.arch }, 'dry-run': { type: 'boolean', default: false } },
});
const root = resolve(positionals[0] ?? 'node_modules');
const { platform, arch } = values;

/** Per package: the folders holding per-platform binaries, and which of their entries to keep. */
const PACKAGES = [
  // bin/napi-v6/<platform>/<arch>/ (onnxruntime-node's binding.js loads exactly that folder)
  { name: 'onnxruntime-node', levels: [['bin', 'napi-v6'], (p) => p === platform, (a) => a === arch] },
  // prebuilds/<platform>-<arch>[+<arch>...]/ (node-gyp-build's naming); where none fits, its install
  // script compiled build/Release/, which stays.
  { name: 'usearch', levels: [['prebuilds'], (d) => d.split('-')[0] === platform && d.slice(d.indexOf('-') + 1).split('+').includes(arch)], built: 'build/Release' },
];

function bytes(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + bytes(join(path, f)), 0);
}

let freed = 0;
for (const { name, levels, built } of PACKAGES) {
  const base = join(root, name, ...levels[0]);
  if (!existsSync(join(root, name))) continue; // not installed here: nothing to prune
  if (!existsSync(base)) throw new Error(`${name}: no ${levels[0].join('/')} folder; its layout changed, so this script must be updated`);
  const keep = [];
  const remove = [];
  const walk = (dir, depth) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (!statSync(path).isDirectory()) continue;
      if (!levels[depth](entry)) remove.push(path);
      else if (depth + 1 < levels.length) walk(path, depth + 1);
      else keep.push(path);
    }
  };
  walk(base, 1);
  // Checked before anything is removed.
  if (keep.length === 0 && !(built && existsSync(join(root, name, built)))) throw new Error(`${name}: no binary for ${platform}/${arch} under ${base}`);
  for (const path of remove) {
    freed += bytes(path);
    console.log(`${values['dry-run'] ? 'would remove' : 'removed'} ${path}`);
    if (!values['dry-run']) rmSync(path, { recursive: true, force: true });
  }
}
console.log(`${values['dry-run'] ? 'would free' : 'freed'} ${(freed / 1e6).toFixed(1)} MB for ${platform}/${arch}`);
