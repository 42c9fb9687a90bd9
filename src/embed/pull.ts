// `orb-learn model pull`: fetch a pinned model artifact, check its SHA-256, unpack it into
// the cache folder atomically (temp folder + rename). A failed or interrupted pull leaves
// nothing behind but what was there before.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar';
import { readModelDir, type ModelFiles } from './model.js';

export interface PullManifest {
  name: string;
  /** The artifact: a .tar.gz holding a sentence-transformers ONNX export. */
  path: string;
  sha256: string;
  /** Folder inside the archive that holds the export (stripped when unpacking). */
  archiveRoot: string;
  defaultMirror: string;
  source: string;
}

/**
 * Pinned artifacts. all-MiniLM-L6-v2 is the ONNX export that Chroma publishes (model.onnx,
 * tokenizer.json, config.json, vocab.txt under onnx/), pinned by the SHA-256 of the archive.
 */
export const KNOWN_MODELS: Record<string, PullManifest> = {
  'all-MiniLM-L6-v2': {
    name: 'all-MiniLM-L6-v2',
    path: 'all-MiniLM-L6-v2/onnx.tar.gz',
    sha256: '913d7300ceae3b2dbc2c50d1de4baacab4be7b9380491c27fab7418616a16ec3',
    archiveRoot: 'onnx',
    defaultMirror: 'https://chroma-onnx-models.s3.amazonaws.com',
    source: 'sentence-transformers/all-MiniLM-L6-v2, ONNX export (Apache-2.0)',
  },
};

export function readManifest(file: string): PullManifest {
  const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<PullManifest>;
  for (const k of ['name', 'path', 'sha256', 'defaultMirror'] as const)
    if (typeof m[k] !== 'string' || m[k] === '') throw new Error(`manifest ${file}: "${k}" is required`);
  if (!/^[0-9a-f]{64}$/.test(m.sha256!)) throw new Error(`manifest ${file}: sha256 must be 64 hex characters`);
  return { archiveRoot: '', source: m.name!, ...m } as PullManifest;
}

export class ChecksumError extends Error {
  override name = 'ChecksumError';
}

export interface PullProgress {
  start(total: number): void;
  update(received: number): void;
  stop(): void;
}

export interface PullOptions {
  manifest: PullManifest;
  cacheDir: string;
  mirror?: string;
  progress?: PullProgress;
  /** Replace a model already in the cache. */
  force?: boolean;
}

export async function pullModel(opts: PullOptions): Promise<ModelFiles> {
  const { manifest } = opts;
  const target = join(opts.cacheDir, manifest.name);
  if (!opts.force) {
    const existing = await readModelDir(target, 'cache');
    if (existing) return existing;
  }
  mkdirSync(opts.cacheDir, { recursive: true });
  const tmp = join(opts.cacheDir, `.pull-${manifest.name}-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const url = `${(opts.mirror ?? manifest.defaultMirror).replace(/\/+$/, '')}/${manifest.path}`;
    const res = await fetch(url);
    if (!res.ok || !res.body) throw new Error(`GET ${url}: HTTP ${res.status}`);
    const total = Number(res.headers.get('content-length') ?? 0);
    opts.progress?.start(total);
    const hash = createHash('sha256');
    let received = 0;
    const archive = join(tmp, 'artifact.tar.gz');
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          received += chunk.length;
          opts.progress?.update(received);
          cb(null, chunk);
        },
      }),
      createWriteStream(archive),
    );
    opts.progress?.stop();
    if (total > 0 && received !== total) throw new Error(`GET ${url}: download interrupted at ${received} of ${total} bytes`);
    const digest = hash.digest('hex');
    if (digest !== manifest.sha256)
      throw new ChecksumError(`checksum mismatch for ${url}: expected sha256 ${manifest.sha256}, got ${digest}; nothing was installed`);
    const unpacked = join(tmp, 'model');
    mkdirSync(unpacked);
    const strip = manifest.archiveRoot ? manifest.archiveRoot.split('/').filter(Boolean).length : 0;
    await extract({ file: archive, cwd: unpacked, strip, strict: true });
    const files = await readModelDir(unpacked, 'cache');
    if (!files) throw new Error(`${url} holds no sentence-transformers ONNX export (model.onnx and tokenizer.json)`);
    if (existsSync(target)) rmSync(target, { recursive: true, force: true });
    renameSync(unpacked, target);
    const installed = await readModelDir(target, 'cache');
    if (!installed) throw new Error(`installing into ${target} failed`);
    return installed;
  } finally {
    opts.progress?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
