// The offline default embedding model: built once, at first start, from data shipped in npm
// packages that are already installed (no download), into the "sentence-transformers ONNX export"
// folder layout the embedder loads:
//   <dir>/model.onnx, <dir>/tokenizer.json, <dir>/tokenizer_config.json,
//   <dir>/orb-model.json = { id, dimension, source, pooling, maxTokens }
// The model: Universal Sentence Encoder lite (512-d, converted from its TF.js graph). GloVe 6B 100-d
// word vectors (a weighted mean of word vectors) are built only when asked for, by the benchmarks
// that compare the two: USE-lite ranks better (recall@2 0.472 vs 0.417), so the 294 MB vector
// package is a dev dependency and stays out of production installs and the image.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { convertGlove, GLOVE_MODEL_ID } from './glove.js';
import { convertUseLite, usePackageDir, type ConvertedModel } from './use-lite.js';

/** Versioned: bump the suffix whenever the conversion's output can change. */
export const OFFLINE_MODEL_ID = 'orb-offline-use-lite-v1';
export { GLOVE_MODEL_ID };

export type OfflineModelKind = 'use-lite' | 'glove';

export interface OrbModelJson {
  id: string;
  dimension: number;
  source: string;
  pooling: 'mean' | 'none';
  maxTokens: number;
}

export interface OfflineModel {
  id: string;
  dimension: number;
  dir: string;
  source: string;
}

export const MODEL_FILES = ['model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'orb-model.json'] as const;

/** The model a plain buildOfflineModel(dir) builds. */
export const DEFAULT_OFFLINE_MODEL: OfflineModelKind = 'use-lite';

/** The orb-model.json of a complete build in `dir`, or null. */
export function readOfflineModel(dir: string): OrbModelJson | null {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'orb-model.json'), 'utf8')) as OrbModelJson;
    if (typeof meta.id !== 'string' || typeof meta.dimension !== 'number') return null;
    for (const f of MODEL_FILES) if (statSync(join(dir, f)).size === 0) return null;
    return meta;
  } catch {
    return null;
  }
}

function convert(kind: OfflineModelKind): { id: string; model: ConvertedModel } {
  return kind === 'use-lite' ? { id: OFFLINE_MODEL_ID, model: convertUseLite() } : { id: GLOVE_MODEL_ID, model: convertGlove() };
}

/**
 * Builds the offline model into `targetDir` (created if needed). The files are written into a
 * temporary directory beside it and renamed into place, so `targetDir` is always either absent,
 * a previous build, or a complete new one. Idempotent: a complete build with the same id is
 * returned as is. `options.model` picks a model explicitly (default: USE-lite).
 */
export async function buildOfflineModel(
  targetDir: string,
  options: { model?: OfflineModelKind } = {},
): Promise<OfflineModel> {
  const dir = resolve(targetDir);
  const kind = options.model ?? DEFAULT_OFFLINE_MODEL;
  const wantId = kind === 'use-lite' ? OFFLINE_MODEL_ID : GLOVE_MODEL_ID;
  const existing = readOfflineModel(dir);
  if (existing && existing.id === wantId) return { id: existing.id, dimension: existing.dimension, dir, source: existing.source };

  const { id, model } = convert(kind);
  const meta: OrbModelJson = { id, dimension: model.dimension, source: model.source, pooling: model.pooling, maxTokens: model.maxTokens };
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(dir)}.tmp-${suffix}`);
  mkdirSync(tmp);
  try {
    writeFileSync(join(tmp, 'model.onnx'), model.onnx);
    writeFileSync(join(tmp, 'tokenizer.json'), JSON.stringify(model.tokenizer));
    writeFileSync(join(tmp, 'tokenizer_config.json'), JSON.stringify(model.tokenizerConfig, null, 2));
    // Written last: its presence marks a complete build.
    writeFileSync(join(tmp, 'orb-model.json'), JSON.stringify(meta, null, 2) + '\n');
    // Another process may have finished the same build meanwhile: keep theirs (it may be in use).
    const raced = readOfflineModel(dir);
    if (raced && raced.id === id) return { id, dimension: raced.dimension, dir, source: raced.source };
    if (existsSync(dir)) {
      // A stale or different build: move it aside, then swap the new one in.
      const old = join(parent, `.${basename(dir)}.old-${suffix}`);
      try {
        renameSync(dir, old);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      rmSync(old, { recursive: true, force: true });
    }
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process won the race: use its build if it is the one we wanted.
      const theirs = readOfflineModel(dir);
      if (theirs && theirs.id === id) return { id, dimension: theirs.dimension, dir, source: theirs.source };
      throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { id, dimension: meta.dimension, dir, source: meta.source };
}
