// Configuration: defaults < config file (JSON or YAML) < ORB_* environment < flags.
// The zod schema below is the one list of settings; env names and flags derive from its keys.
import { DEFAULT_LEXICAL_WEIGHT } from '../query/lexical-index.js';
import { DEFAULT_EMBED_CONTENT, EMBED_CONTENTS } from '../embed/content.js';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { durationSetting } from '../duration.js';
import { sizeSetting } from '../size.js';
import { LOG_LEVELS } from '../telemetry/log.js';
import { firstIssue } from '../convert/issues.js';

const MiB = 1024 * 1024;

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):\d{1,5}$/, 'expected HOST:PORT')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be ≤ 65535');

const int = (min: number) => z.coerce.number().int().min(min);

/** A boolean from a flag, a file or the environment: true/false/1/0 as text too. */
export const boolish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

const Settings = z.strictObject({
  db: z.string().min(1).default('./data/learning.duckdb'),
  grpc: hostPort.default('127.0.0.1:4317'),
  http: hostPort.default('127.0.0.1:4318'),
  /** Largest request, compressed or inflated; collector batches pass gRPC's 4 MiB default. */
  maxMessageBytes: int(1024).default(16 * MiB),
  batchMaxRows: int(1).default(5000),
  batchMaxWaitMs: int(0).default(10),
  queueMaxRows: int(1).default(100_000),
  retryAfterSeconds: int(1).default(1),
  shutdownGraceMs: int(0).default(10_000),
  dbThreads: int(1).optional(),
  /** A checkpoint stalls commits; fewer, larger ones keep ingest smooth (see docs/benchmarks.md). */
  dbCheckpointThreshold: sizeSetting().default('256MB'),
  /** What the process may hold: DuckDB's memory_limit, the write queue and the decode pool get shares of it (src/memory-budget.ts); past them, exports are pushed back. */
  memoryLimit: sizeSetting('expected a size of at least 64MiB, such as 512MB', 64 * MiB).default('512MB'),
  /** After DuckDB invalidates the database, reopen attempts before /healthz fails (with back-off up to dbReopenMaxDelayMs). */
  dbReopenAttempts: int(1).default(120),
  dbReopenMaxDelayMs: int(10).default(30_000),
  /** Longest the summary tables (tiers, pools, patterns) lag the executions: they are merged in bulk, which keeps ingest fast. 0 merges in every commit. */
  summaryIntervalMs: int(0).default(1000),
  /** Worker threads that decode and validate exports; 0 decodes on the main thread. */
  decodeThreads: int(0).default(1),
  /** Embed every execution off the ack path (needs a model: the offline one at least). */
  embed: boolish.default(true),
  /** A sentence-transformers ONNX export (model.onnx or onnx/model.onnx, tokenizer.json). */
  modelDir: z.string().min(1).optional(),
  modelCacheDir: z.string().min(1).optional(),
  /** What a vector is of: 'task' (task type and description, the default) or 'review' (the review's full content string). */
  embedContent: z.enum(EMBED_CONTENTS).default(DEFAULT_EMBED_CONTENT),
  embedThreads: int(1).default(1),
  /** Texts per model call: 4–8 length-sorted texts measured fastest on 2 cores (docs/benchmarks.md). */
  embedBatchSize: int(1).default(8),
  /** Nice value of the embedding thread, so inference yields the CPU to ingest. */
  embedNice: int(0).max(19).default(10),
  embedMaxBacklog: int(1).default(50_000),
  /** Longest an embedding batch waits while ingest is busy (ingest comes first); 0 never waits. */
  embedMaxYieldMs: int(0).default(2000),
  /** Seconds between read-only snapshots for analysts (only when something changed); 0 turns them off. */
  snapshotInterval: int(0).default(60),
  /** Where the snapshot goes; default beside the database: NAME.snapshot.duckdb. */
  snapshotPath: z.string().min(1).optional(),
  /** Where old executions go as monthly Parquet; default beside the database: archive/. */
  archiveDir: z.string().min(1).optional(),
  /** Executions older than this are archived by the schedule inside serve ('90d'; 'off' disables). */
  archiveOlderThan: durationSetting("expected a duration such as 90d, or 'off'", { off: true }).default('90d'),
  archiveInterval: durationSetting('expected a duration such as 1d').default('1d'),
  /** Read connections for queries, beside the writer. */
  queryConnections: int(1).max(64).default(4),
  /** Limit on a whole query request: waiting for a connection, running, converting the result. */
  queryTimeoutMs: int(100).default(10_000),
  /** Largest result of /v1/query/sql, in bytes of JSON; past it the query is refused with 400. */
  queryMaxResultBytes: int(1024).default(16 * MiB),
  /** Statements of /v1/query/sql run at once; more wait (within queryTimeoutMs), so ingest keeps its threads. */
  querySqlConcurrency: int(1).max(16).default(1),
  /** Where /v1/query/sql runs: 'snapshot', a low-priority process of its own over the published snapshot (ingest never waits for it; it reads data up to snapshotInterval old), or 'live', the server's instance (read-your-writes). */
  querySqlSource: z.enum(['snapshot', 'live']).default('snapshot'),
  /** DuckDB threads, memory and nice value of that process. */
  querySqlThreads: int(1).max(64).default(1),
  querySqlMemoryLimit: sizeSetting().default('256MB'),
  querySqlNice: int(0).max(19).default(10),
  /** Weight of lexical overlap (BM25) against cosine in similar/recommend; 0 ranks by cosine alone (docs/hybrid-ranking.md). */
  queryLexicalWeight: z.coerce.number().min(0).max(1).default(DEFAULT_LEXICAL_WEIGHT),
  /** recommend's mode when a call names none: exploit, or explore (Thompson sampling on at most routerExploreShare of calls). */
  routerMode: z.enum(['exploit', 'explore']).default('exploit'),
  /** Share of explore-mode recommend calls that may try another tier than the best-supported one. */
  routerExploreShare: z.coerce.number().min(0).max(1).default(0.1),
  /** How long after its agent span arrives a GenAI run is assembled into an execution (embedded, shown); calls later than that revise it. */
  genaiSettleMs: int(0).default(5000),
  /** An inference call with no agent span (none came, or it is not its parent) is dropped this long after it arrived. */
  genaiOrphanTtlMs: int(1000).default(15 * 60_000),
  /** Most GenAI spans kept waiting; beyond it the oldest calls are dropped (orb_genai_calls_expired_total{reason="overflow"}). */
  genaiMaxPending: int(1).default(200_000),
  /** Model → tier patterns tried before the shipped model-data/model-tiers.json. */
  genaiTiersFile: z.string().min(1).optional(),
  /** Prices tried before the shipped model-data/prices.json. */
  genaiPricesFile: z.string().min(1).optional(),
  /** Agent span attributes tried first for task_description, task_type and pool_type. */
  genaiTaskDescriptionAttribute: z.string().min(1).optional(),
  genaiTaskTypeAttribute: z.string().min(1).optional(),
  genaiPoolAttribute: z.string().min(1).optional(),
  /** In-line mode: forward every request, unchanged, to this OTLP/gRPC endpoint before acknowledging. */
  forward: hostPort.optional(),
  /** TLS to the downstream, verified against the system roots (or forwardCa). */
  forwardTls: boolish.default(false),
  /** PEM CA that signed the downstream's certificate; implies TLS. */
  forwardCa: z.string().min(1).optional(),
  /** PEM client certificate and key, for a downstream that wants mTLS; implies TLS. */
  forwardClientCert: z.string().min(1).optional(),
  forwardClientKey: z.string().min(1).optional(),
  /** Metadata on every forwarded request, `key=value,key2=value2` (values percent-encoded), e.g. an API key. */
  forwardHeaders: z.string().regex(/^\s*[0-9A-Za-z_.-]+=[^,]*(\s*,\s*[0-9A-Za-z_.-]+=[^,]*)*\s*,?\s*$/, 'expected key=value,key2=value2').optional(),
  forwardTimeoutMs: int(100).default(10_000),
  forwardCompression: z.enum(['gzip', 'none']).default('gzip'),
  /** PEM certificate and key: serve gRPC and HTTP over TLS. */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** PEM CA: clients must present a certificate it signed (mTLS). */
  tlsClientCa: z.string().min(1).optional(),
  /** How often the TLS files are checked for a rotated certificate; 0 never re-reads them. */
  tlsReloadIntervalMs: int(0).default(60_000),
  /** Require `Authorization: Bearer <token>` on exports and the query API. */
  authToken: z.string().min(16, 'must be at least 16 characters').optional(),
  authTokenFile: z.string().min(1).optional(),
  /** With a bearer token set, /metrics needs it too; false leaves /metrics open (the probes always are). */
  metricsAuth: boolish.default(true),
  /** Open HTTP connections past this are refused; a sidecar has one collector and a few probes. */
  httpMaxConnections: int(1).default(256),
  /** A client must send its request headers within this, or it is cut off (slow-header clients). */
  httpHeadersTimeoutMs: int(100).default(5_000),
  /** Open gRPC connections past this are refused. */
  grpcMaxConnections: int(1).default(256),
  /** A gRPC connection with no call in flight for this long is closed (GOAWAY: clients reconnect on their next export). */
  grpcIdleTimeoutMs: int(100).default(30_000),
  /** Export orb-learn's own traces and metrics to this OTLP/gRPC endpoint (off when unset). */
  telemetryEndpoint: z.string().min(1).optional(),
  telemetryIntervalMs: int(1000).default(10_000),
  logLevel: z.enum(LOG_LEVELS).default('info'),
});
export const Config = Settings.superRefine((c, ctx) => {
  if (Boolean(c.tlsCert) !== Boolean(c.tlsKey)) ctx.addIssue({ code: 'custom', path: [c.tlsCert ? 'tlsKey' : 'tlsCert'], message: 'tlsCert and tlsKey go together' });
  if (c.tlsClientCa && !c.tlsCert) ctx.addIssue({ code: 'custom', path: ['tlsClientCa'], message: 'needs tlsCert and tlsKey' });
  if (Boolean(c.forwardClientCert) !== Boolean(c.forwardClientKey))
    ctx.addIssue({ code: 'custom', path: [c.forwardClientCert ? 'forwardClientKey' : 'forwardClientCert'], message: 'forwardClientCert and forwardClientKey go together' });
  for (const k of ['forwardTls', 'forwardCa', 'forwardClientCert', 'forwardHeaders', 'forwardCompression'] as const)
    if (!c.forward && c[k] !== Settings.shape[k].parse(undefined)) ctx.addIssue({ code: 'custom', path: [k], message: 'needs forward' });
  if (c.authToken && c.authTokenFile) ctx.addIssue({ code: 'custom', path: ['authTokenFile'], message: 'give authToken or authTokenFile, not both' });
});
export type Config = z.output<typeof Config>;
export type ConfigKey = keyof Config;

export const CONFIG_KEYS = Object.keys(Settings.shape) as ConfigKey[];
export const envName = (key: string) => `ORB_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
export const flagName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The bearer token from authToken or authTokenFile, held to the same rule either way. */
export function authTokenOf(c: Pick<Config, 'authToken' | 'authTokenFile'>): string | undefined {
  if (c.authToken) return c.authToken;
  if (!c.authTokenFile) return undefined;
  let token: string;
  try {
    token = readFileSync(c.authTokenFile, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`invalid setting authTokenFile: ${(err as Error).message}`);
  }
  const ok = Settings.shape.authToken.safeParse(token);
  if (!token || !ok.success) throw new ConfigError(`invalid setting authTokenFile (${c.authTokenFile}): the token ${token ? firstIssue(ok.error!) : 'is empty'}`);
  return token;
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${path}: expected a mapping of settings`);
  return data as Record<string, unknown>;
}

export interface ConfigSources {
  flags?: Partial<Record<string, unknown>>;
  env?: NodeJS.ProcessEnv;
  file?: string;
}

/** Merges the sources and validates; a bad value gets one line naming the setting and its source. */
export function loadConfig(src: ConfigSources = {}): Config {
  const env = src.env ?? {};
  const merged: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  const file = src.file ?? env.ORB_CONFIG;
  if (file) {
    for (const [k, v] of Object.entries(readFile(file))) {
      merged[k] = v;
      origin[k] = `config file ${file}`;
    }
  }
  for (const key of CONFIG_KEYS) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') {
      merged[key] = v;
      origin[key] = envName(key);
    }
    const f = src.flags?.[key];
    if (f !== undefined) {
      merged[key] = f;
      origin[key] = `--${flagName(key)}`;
    }
  }
  const parsed = Config.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? (issue.code === 'unrecognized_keys' ? issue.keys[0] : ''));
    const where = origin[key] ?? (issue.code === 'unrecognized_keys' ? `config file ${file}` : 'default');
    const what = issue.code === 'unrecognized_keys' ? `unknown setting (known: ${CONFIG_KEYS.join(', ')})` : issue.message;
    throw new ConfigError(`invalid setting ${key} (from ${where}): ${what}`);
  }
  return parsed.data;
}
