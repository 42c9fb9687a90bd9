// Builds (or validates) one partition's HNSW graph off the event loop: a 1M-entry build takes
// minutes. The graph is written to a file beside the database with a meta file naming what it was
// built from; the main thread then loads that file. A valid cached graph is only checked, not rebuilt.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import usearch from 'usearch';

const { Index, MetricKind, ScalarKind } = usearch;

export interface AnnParams {
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
}

/** What a graph file was built from; a cached graph is used only if all of it matches. */
export interface AnnMeta extends AnnParams {
  version: 1;
  model: string;
  dim: number;
  covered: number;
  /** FNV over the entries' key hashes, in order: the vectors and descriptions the graph holds. */
  entries: string;
  /** sha256 of the graph file. */
  file?: string;
}

export interface AnnJob {
  path: string;
  meta: AnnMeta;
  codes: Int8Array;
  threads: number;
}

export type AnnReply = { ok: true; cached: boolean; seconds: number } | { ok: false; error: string };

async function fileDigest(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function sameMeta(a: AnnMeta, b: AnnMeta): boolean {
  // expansionSearch is a search-time setting (the loading Index's own applies), not the graph's.
  const keys: (keyof AnnMeta)[] = ['version', 'model', 'dim', 'covered', 'entries', 'connectivity', 'expansionAdd'];
  return keys.every((k) => a[k] === b[k]);
}

/** True when the file beside `path` says it holds exactly this graph and its digest agrees. */
async function cachedValid(path: string, want: AnnMeta): Promise<boolean> {
  try {
    if (!existsSync(path) || !existsSync(`${path}.json`)) return false;
    const have = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as AnnMeta;
    return sameMeta(have, want) && have.file === (await fileDigest(path));
  } catch {
    return false;
  }
}

export function newGraph(dim: number, p: AnnParams): InstanceType<typeof Index> {
  return new Index({ dimensions: dim, metric: MetricKind.Cos, quantization: ScalarKind.I8, connectivity: p.connectivity, expansion_add: p.expansionAdd, expansion_search: p.expansionSearch, multi: false });
}

async function run(job: AnnJob): Promise<AnnReply> {
  const t0 = performance.now();
  if (await cachedValid(job.path, job.meta)) return { ok: true, cached: true, seconds: (performance.now() - t0) / 1000 };
  rmSync(`${job.path}.json`, { force: true });
  const { dim, covered } = job.meta;
  const graph = newGraph(dim, job.meta);
  // usearch takes floats (it rescales them to its own int8); in slices, to bound the copy.
  const step = 8192;
  for (let s = 0; s < covered; s += step) {
    const e = Math.min(covered, s + step);
    graph.add(BigUint64Array.from({ length: e - s }, (_, k) => BigInt(s + k)), Float32Array.from(job.codes.subarray(s * dim, e * dim)), job.threads);
  }
  const tmp = `${job.path}.tmp`;
  graph.save(tmp);
  renameSync(tmp, job.path);
  writeFileSync(`${job.path}.json`, JSON.stringify({ ...job.meta, file: await fileDigest(job.path) }));
  return { ok: true, cached: false, seconds: (performance.now() - t0) / 1000 };
}

if (parentPort && workerData) {
  run(workerData as AnnJob).then(
    (r) => parentPort!.postMessage(r),
    (err: unknown) => parentPort!.postMessage({ ok: false, error: (err as Error).message } satisfies AnnReply),
  );
}
