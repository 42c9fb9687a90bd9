// orb-learn serve: the ingester.
import type { Command } from 'commander';
import { startServer } from '../../server/server.js';
import { createLogger } from '../../telemetry/log.js';
import { CONFIG_KEYS } from '../../config/config.js';
import { addSettings, MODEL_FLAGS, settings, type SettingFlag } from '../common.js';

export const SERVE_FLAGS: SettingFlag[] = [
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
  ['memoryLimit', 'SIZE', 'memory the process may hold: DuckDB memory_limit, write queue and decode pool get shares; past them exports get RESOURCE_EXHAUSTED/429 with Retry-After (default 512MB)'],
  ['dbReopenAttempts', 'N', 'after the database is invalidated (full disk, read-only folder), reopen attempts before /healthz fails (default 120)'],
  ['dbReopenMaxDelayMs', 'MS', 'longest wait between reopen attempts; they start at 1 s and double (default 30000)'],
  ['summaryIntervalMs', 'MS', 'longest the summary tables lag the executions; 0 = merge in every commit (default 1000)'],
  ['decodeThreads', 'N', 'worker threads that decode and validate exports; 0 = main thread (default 1)'],
  ['embed', 'BOOL', 'embed executions off the ack path (default true)'],
  ...MODEL_FLAGS,
  ['embedThreads', 'N', 'onnxruntime threads for embedding (default 1)'],
  ['embedBatchSize', 'N', 'texts per model call (default 8)'],
  ['embedNice', 'N', 'nice value of the embedding thread, 0-19 (default 10)'],
  ['embedMaxBacklog', 'N', 'executions held in memory for embedding (default 50000)'],
  ['embedMaxYieldMs', 'MS', 'longest an embedding batch waits while ingest is busy; 0 = never (default 2000)'],
  ['snapshotInterval', 'S', 'seconds between read-only snapshots for analysts, 0 = off (default 60)'],
  ['snapshotPath', 'PATH', 'where the snapshot goes (default NAME.snapshot.duckdb beside the database)'],
  ['archiveDir', 'DIR', 'where old executions go as monthly Parquet (default archive/ beside the database)'],
  ['archiveOlderThan', 'AGE', "archive executions older than this, on a schedule (default 90d; 'off' disables)"],
  ['archiveInterval', 'EVERY', 'how often the archive schedule runs (default 1d)'],
  ['queryConnections', 'N', 'read connections for queries (default 4)'],
  ['queryTimeoutMs', 'MS', 'a query request taking longer (waiting, running, converting) is cut off with 504 (default 10000)'],
  ['queryMaxResultBytes', 'BYTES', 'largest /v1/query/sql result in bytes of JSON; past it, 400 (default 16777216)'],
  ['querySqlConcurrency', 'N', '/v1/query/sql statements run at once; more wait within the time limit (default 1)'],
  ['querySqlSource', 'snapshot|live', '/v1/query/sql over the snapshot in a low-priority process of its own, or live on the server (default snapshot; live while no snapshot exists)'],
  ['querySqlThreads', 'N', 'DuckDB threads of the snapshot SQL process (default 1)'],
  ['querySqlMemoryLimit', 'SIZE', 'DuckDB memory limit of the snapshot SQL process (default 256MB)'],
  ['querySqlNice', 'N', 'nice value of the snapshot SQL process, 0-19 (default 10)'],
  ['queryLexicalWeight', 'W', 'weight of lexical overlap (BM25) against cosine in similar/recommend, 0-1; 0 = cosine only (default 0.5)'],
  ['routerMode', 'MODE', 'recommend mode when a call names none: exploit or explore (default exploit)'],
  ['routerExploreShare', 'SHARE', 'share of explore-mode recommend calls that may try another tier, 0-1 (default 0.1)'],
  ['genaiSettleMs', 'MS', 'how long after its agent span a GenAI/OpenInference run is assembled into an execution; later calls revise it (default 5000)'],
  ['genaiOrphanTtlMs', 'MS', 'an inference call with no agent span is dropped this long after it arrived (default 900000)'],
  ['genaiMaxPending', 'N', 'most GenAI spans kept waiting; beyond it the oldest calls are dropped (default 200000)'],
  ['genaiTiersFile', 'JSON', 'model-name patterns to tiers, tried before the shipped model-data/model-tiers.json'],
  ['genaiPricesFile', 'JSON', 'prices per model pattern, tried before the shipped model-data/prices.json'],
  ['genaiTaskDescriptionAttribute', 'ATTR', 'agent span attribute tried first for task_description'],
  ['genaiTaskTypeAttribute', 'ATTR', 'agent span attribute tried first for task_type'],
  ['genaiPoolAttribute', 'ATTR', 'agent span attribute tried first for pool_type'],
  ['forward', 'HOST:PORT', 'in-line mode: pass every request on to this OTLP/gRPC endpoint; acknowledge once it has'],
  ['forwardTls', 'BOOL', 'TLS to the forward endpoint, verified against the system roots (default false)'],
  ['forwardCa', 'PEM', "CA of the forward endpoint's certificate; implies TLS"],
  ['forwardClientCert', 'PEM', 'client certificate for a forward endpoint that wants mTLS (with --forward-client-key)'],
  ['forwardClientKey', 'PEM', 'private key of --forward-client-cert'],
  ['forwardHeaders', 'K=V,...', 'metadata on every forwarded request, e.g. authorization=Bearer%20abc (env ORB_FORWARD_HEADERS)'],
  ['forwardTimeoutMs', 'MS', 'deadline of a forwarded request (default 10000)'],
  ['forwardCompression', 'gzip|none', 'compression of forwarded requests (default gzip)'],
  ['tlsCert', 'PEM', 'serve gRPC and HTTP over TLS with this certificate (with --tls-key)'],
  ['tlsKey', 'PEM', 'private key of --tls-cert'],
  ['tlsClientCa', 'PEM', 'require client certificates signed by this CA (mTLS)'],
  ['tlsReloadIntervalMs', 'MS', 'check the TLS files this often and use a rotated certificate for new connections; 0 = never (default 60000)'],
  ['authToken', 'TOKEN', 'require Authorization: Bearer TOKEN on exports and queries (env ORB_AUTH_TOKEN)'],
  ['authTokenFile', 'FILE', 'read the bearer token from a file'],
  ['metricsAuth', 'BOOL', 'with a token set, /metrics needs it too; false leaves /metrics open (default true)'],
  ['httpMaxConnections', 'N', 'open HTTP connections past this are refused (default 256)'],
  ['httpHeadersTimeoutMs', 'MS', 'a client must send its request headers within this, or it is cut off (default 5000)'],
  ['grpcMaxConnections', 'N', 'open gRPC connections past this are refused (default 256)'],
  ['grpcIdleTimeoutMs', 'MS', 'a gRPC connection with no call in flight for this long is closed; clients reconnect (default 30000)'],
  ['telemetryEndpoint', 'URL', "export orb-learn's own traces and metrics over OTLP/gRPC (off by default)"],
  ['telemetryIntervalMs', 'MS', 'how often its metrics are exported (default 10000)'],
  ['logLevel', 'LEVEL', 'fatal|error|warn|info|debug|trace|silent (default info)'],
];

// Every setting is a serve flag; a setting without a line above would be a bug.
const missing = CONFIG_KEYS.filter((k) => !SERVE_FLAGS.some(([key]) => key === k));
if (missing.length) throw new Error(`serve has no flag for ${missing.join(', ')}`);

export function registerServe(program: Command): void {
  const cmd = addSettings(
    program.command('serve').description('run the ingester: OTLP gRPC + HTTP receivers into the DuckDB learning database'),
    SERVE_FLAGS,
  );
  cmd.action(async (opts: Record<string, unknown>) => {
  const config = settings(opts);
  const log = createLogger(config.logLevel);
  // Handlers first: a signal that lands while the server is still starting waits for it, then stops it.
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  let requested: string | null = null;
  let signals = 0;
  const stop = (signal: string) => {
    log.info({ signal }, 'shutdown requested');
    server!.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.fatal({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: string) => {
    if (++signals > 1) {
      log.warn({ signal }, 'second signal: exiting without draining');
      process.exit(130);
    }
    if (server) stop(signal);
    else requested = signal;
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  server = await startServer(config, log).catch((err: unknown) => {
    log.fatal({ err }, 'could not start');
    process.exit(1);
  });
  if (requested) stop(requested);
});
}
