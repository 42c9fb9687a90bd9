// Where the active model comes from: --model-dir / ORB_MODEL_DIR, then the cache folder
// (where `orb-learn model pull` writes), then the offline model built from registry data.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

export type Pooling = 'mean' | 'none';

export interface ModelManifest {
  id: string;
  dimension?: number;
  source?: string;
  pooling?: Pooling;
  maxTokens?: number;
}

export type ModelOrigin = 'model-dir' | 'cache' | 'offline';

export interface ModelFiles {
  dir: string;
  onnxPath: string;
  tokenizerPath: string;
  tokenizerConfigPath: string | null;
  manifest: ModelManifest;
  origin: ModelOrigin;
}

export const MANIFEST_FILE = 'orb-model.json';
export const DEFAULT_MODEL_NAME = 'all-MiniLM-L6-v2';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'orb-learn', 'models');
}

/** model.onnx, else onnx/model.onnx, else the only .onnx in onnx/ (e.g. an int8 export). */
export function findOnnx(dir: string): string | null {
  for (const p of [join(dir, 'model.onnx'), join(dir, 'onnx', 'model.onnx')]) if (existsSync(p)) return p;
  const sub = join(dir, 'onnx');
  if (!existsSync(sub)) return null;
  const candidates = readdirSync(sub).filter((f) => f.endsWith('.onnx'));
  return candidates.length === 1 ? join(sub, candidates[0]!) : null;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The files of a sentence-transformers ONNX export in `dir`, or null when it holds none. */
export async function readModelDir(dir: string, origin: ModelOrigin): Promise<ModelFiles | null> {
  const onnxPath = findOnnx(dir);
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (!onnxPath || !existsSync(tokenizerPath)) return null;
  const tokenizerConfigPath = existsSync(join(dir, 'tokenizer_config.json')) ? join(dir, 'tokenizer_config.json') : null;
  const manifestPath = join(dir, MANIFEST_FILE);
  let manifest: ModelManifest;
  if (existsSync(manifestPath)) {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
  } else {
    // No manifest: the id names the folder and pins the weights, so a changed model gets a new id.
    manifest = { id: `${basename(dir)}@${(await sha256File(onnxPath)).slice(0, 12)}` };
  }
  return { dir, onnxPath, tokenizerPath, tokenizerConfigPath, manifest, origin };
}

export interface ResolveOptions {
  modelDir?: string;
  cacheDir: string;
  name?: string;
  /** Builds the offline model into a folder and returns it; called only when nothing else is found. */
  buildOffline: (dir: string) => Promise<string>;
}

export async function resolveModel(opts: ResolveOptions): Promise<ModelFiles> {
  if (opts.modelDir) {
    const m = await readModelDir(opts.modelDir, 'model-dir');
    if (!m)
      throw new Error(
        `no model in ${opts.modelDir}: expected model.onnx (or onnx/model.onnx) and tokenizer.json, as a sentence-transformers ONNX export has`,
      );
    return m;
  }
  const cached = await readModelDir(join(opts.cacheDir, opts.name ?? DEFAULT_MODEL_NAME), 'cache');
  if (cached) return cached;
  const dir = await opts.buildOffline(join(opts.cacheDir, 'offline'));
  const offline = await readModelDir(dir, 'offline');
  if (!offline) throw new Error(`the offline model build in ${dir} is incomplete`);
  return offline;
}

const OFFLINE_MODULE = './offline/index.js';

/** Builds the offline model into `dir` (once; cached) and returns its folder. */
export async function buildOffline(dir: string): Promise<string> {
  // Loaded lazily: the converter is only needed on the first start without a model.
  const offline = (await import(OFFLINE_MODULE)) as { buildOfflineModel(dir: string): Promise<{ dir: string }> };
  return (await offline.buildOfflineModel(dir)).dir;
}

/** Where models come from, as the config says (modelDir, modelCacheDir). */
export function modelOptions(config: { modelDir?: string; modelCacheDir?: string }): ResolveOptions {
  return { modelDir: config.modelDir, cacheDir: config.modelCacheDir ?? defaultCacheDir(), buildOffline };
}
