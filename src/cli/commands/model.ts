// orb-learn model pull | info: fetch a pinned model into the cache, or show the active one.
import { vectorModelId } from '../../embed/content.js';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { OnnxEmbedder } from '../../embed/embedder.js';
import { resolveModel, modelOptions } from '../../embed/model.js';
import { KNOWN_MODELS, pullModel, readManifest, type PullProgress } from '../../embed/pull.js';
import { addSettings, fail, MODEL_FLAGS, settings } from '../common.js';

function progressBar(label: string): PullProgress {
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} bytes`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    start: (total) => {
      started = true;
      bar.start(total || 1, 0);
    },
    update: (n) => bar.update(n),
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}

export function registerModel(program: Command): void {
  const model = program.command('model').description('the embedding model: pull one, or show the active one');

  addSettings(
    model
      .command('pull [name]')
      .description('download a pinned model artifact, verify its SHA-256 and install it in the cache (default all-MiniLM-L6-v2)')
      .option('--mirror <URL>', 'fetch from this base URL instead of the default')
      .option('--manifest <FILE>', 'JSON manifest {name, path, sha256, defaultMirror, archiveRoot} for a model not built in')
      .option('--force', 'replace a model already in the cache'),
    MODEL_FLAGS.filter(([k]) => k === 'modelCacheDir'),
  ).action(async (name: string | undefined, opts: Record<string, unknown>) => {
    const config = settings(opts);
    const manifest = opts.manifest ? readManifest(String(opts.manifest)) : KNOWN_MODELS[name ?? 'all-MiniLM-L6-v2'];
    if (!manifest) fail(`unknown model ${JSON.stringify(name)}: known are ${Object.keys(KNOWN_MODELS).join(', ')} (or give --manifest)`);
    try {
      const files = await pullModel({
        manifest,
        cacheDir: modelOptions(config).cacheDir,
        mirror: opts.mirror as string | undefined,
        progress: progressBar(manifest.name),
        force: Boolean(opts.force),
      });
      process.stdout.write(`installed ${files.manifest.id} in ${files.dir}\n`);
    } catch (err) {
      fail((err as Error).message);
    }
  });

  addSettings(
    model.command('info').description('show the active model: where it comes from, its id and dimension').option('--json', 'print JSON'),
    MODEL_FLAGS,
  ).action(async (opts: Record<string, unknown>) => {
    const config = settings(opts);
    try {
      const files = await resolveModel(modelOptions(config));
      const embedder = await OnnxEmbedder.load(files, { threads: 1 });
      const info = {
        id: embedder.modelId,
        dimension: embedder.dimension,
        content: config.embedContent,
        vectors: vectorModelId(embedder.modelId, config.embedContent),
        origin: files.origin,
        dir: files.dir,
        onnx: files.onnxPath,
        tokenizer: files.tokenizerPath,
        source: files.manifest.source ?? null,
      };
      await embedder.close();
      if (opts.json) process.stdout.write(`${JSON.stringify(info)}\n`);
      else for (const [k, v] of Object.entries(info)) process.stdout.write(`${k.padEnd(10)} ${v ?? '-'}\n`);
    } catch (err) {
      fail((err as Error).message);
    }
  });
}
