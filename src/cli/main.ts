#!/usr/bin/env node
// orb-learn's command line: a thin shell over src/server and, later, src/query.
import { Command, Option } from 'commander';
import { ConfigError, flagName, loadConfig, type ConfigKey } from '../config/config.js';
import { startServer } from '../server/server.js';
import { createLogger } from '../telemetry/log.js';

const SERVE_FLAGS: [ConfigKey, string, string][] = [
  ['db', 'PATH', 'DuckDB file (default ./data/learning.duckdb)'],
  ['grpc', 'HOST:PORT', 'OTLP/gRPC listen address (default 127.0.0.1:4317)'],
  ['http', 'HOST:PORT', 'OTLP/HTTP listen address, also health, metrics (default 127.0.0.1:4318)'],
  ['maxMessageBytes', 'N', 'largest request, compressed or inflated (default 16 MiB)'],
  ['batchMaxRows', 'N', 'most rows in one group commit (default 5000)'],
  ['batchMaxWaitMs', 'MS', 'longest wait for a group to fill (default 10)'],
  ['queueMaxRows', 'N', 'rows waiting before requests are refused as retryable (default 100000)'],
  ['retryAfterSeconds', 'S', 'back-off asked of clients when the queue is full (default 1)'],
  ['shutdownGraceMs', 'MS', 'how long in-flight requests get on shutdown (default 10000)'],
  ['dbThreads', 'N', 'DuckDB worker threads (default: all cores)'],
  ['dbCheckpointThreshold', 'SIZE', 'WAL size that triggers a checkpoint (default 256MB)'],
  ['decodeThreads', 'N', 'worker threads that decode and validate exports; 0 = main thread (default 1)'],
  ['embed', 'BOOL', 'embed executions off the ack path (default true)'],
  ['modelDir', 'DIR', 'sentence-transformers ONNX export to use (env ORB_MODEL_DIR)'],
  ['modelCacheDir', 'DIR', 'where pulled and built models are kept (default ~/.cache/orb-learn/models)'],
  ['embedThreads', 'N', 'onnxruntime threads for embedding (default 1)'],
  ['embedBatchSize', 'N', 'texts per model call (default 32)'],
  ['embedNice', 'N', 'nice value of the embedding thread, 0-19 (default 10)'],
  ['embedMaxBacklog', 'N', 'executions held in memory for embedding (default 50000)'],
  ['logLevel', 'LEVEL', 'fatal|error|warn|info|debug|trace|silent (default info)'],
];

const program = new Command('orb-learn').description('OTLP sidecar that learns from execution spans').showHelpAfterError();

const serve = program
  .command('serve')
  .description('run the ingester: OTLP gRPC + HTTP receivers into the DuckDB learning database')
  .option('--config <FILE>', 'config file, JSON or YAML (env ORB_CONFIG)');
for (const [key, arg, help] of SERVE_FLAGS) serve.addOption(new Option(`--${flagName(key)} <${arg}>`, `${help}`));
serve.action(async (opts: Record<string, unknown>) => {
  let config;
  try {
    config = loadConfig({ flags: opts, env: process.env, file: opts.config as string | undefined });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`orb-learn: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const server = await startServer(config, log).catch((err: unknown) => {
    log.fatal({ err }, 'could not start');
    process.exit(1);
  });
  let signals = 0;
  const onSignal = (signal: string) => {
    if (++signals > 1) {
      log.warn({ signal }, 'second signal: exiting without draining');
      process.exit(130);
    }
    log.info({ signal }, 'shutdown requested');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.fatal({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
});

await program.parseAsync(process.argv);
