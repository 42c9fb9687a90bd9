// The synthetic world `orb-learn synth` draws from: repos, task types with their description
// templates and solution summaries, tiers, pools, and the ground truth (success, quality, cost,
// duration by task type × tier) that a learning query should recover. Static data only; the
// sampling lives in generate.ts.

export const TIERS = ['small', 'medium', 'large'] as const;
export type Tier = (typeof TIERS)[number];

/** Cost per 1K estimated tokens: small ≈ 1×, medium ≈ 4×, large ≈ 15×. */
export const COST_PER_1K_TOKENS: Record<Tier, number> = { small: 0.0003, medium: 0.0012, large: 0.0045 };

/** actual_cost / cost_estimate on average: estimates undershoot, and more so for larger tiers. */
export const COST_BIAS: Record<Tier, number> = { small: 1.04, medium: 1.15, large: 1.35 };

/** Duration multiplier: larger tiers think longer. */
export const TIER_SLOWNESS: Record<Tier, number> = { small: 0.6, medium: 1, large: 1.7 };

/** How much extra complexity (beyond the task type's usual) hurts a tier's success. */
export const COMPLEXITY_SENSITIVITY: Record<Tier, number> = { small: 0.9, medium: 0.55, large: 0.3 };

export interface TaskTypeSpec {
  name: string;
  /** Share of all executions. */
  weight: number;
  /** The truth: success probability at the type's usual complexity, per tier. */
  success: Record<Tier, number>;
  /** Mean quality_score of a successful run, per tier. */
  quality: Record<Tier, number>;
  /** How the router spreads this type over tiers (before exploration). */
  routing: Record<Tier, number>;
  complexity: number;
  files: number;
  tokens: number;
  /** Median duration in seconds on the medium tier. */
  seconds: number;
  /** Extra cost underestimate for this type (added to the tier's bias). */
  costBias: number;
  templates: string[];
  summaries: string[];
}

const t = (small: number, medium: number, large: number): Record<Tier, number> => ({ small, medium, large });

const EASY_ROUTING = t(0.55, 0.3, 0.15);
const MIDDLE_ROUTING = t(0.3, 0.45, 0.25);
const HARD_ROUTING = t(0.2, 0.4, 0.4);

export const TASK_TYPES: readonly TaskTypeSpec[] = [
  {
    name: 'fix',
    weight: 0.2,
    success: t(0.72, 0.82, 0.88),
    quality: t(75, 81, 87),
    routing: MIDDLE_ROUTING,
    complexity: 50,
    files: 3,
    tokens: 8000,
    seconds: 150,
    costBias: 0.05,
    templates: [
      'Fix {bug} in the {module} module',
      'Fix crash when {module} receives {input}',
      'Fix off-by-one error in {module} pagination',
      'Handle {errorcase} in {module} gracefully',
      'Fix race condition in {module} {concern}',
    ],
    summaries: [
      'Added a guard clause for the empty case and a regression test',
      'Normalized timestamps to UTC before comparison',
      'Wrapped the shared state in a lock and added a concurrency test',
      'Invalidated the cache entry on write instead of on read',
      'Fixed the loop bound and added boundary tests',
      'Retried the call with exponential backoff on transient errors',
      'Validated input at the boundary and returned a 400 with a clear message',
      'Closed the leaked file handles with a context manager',
      'Rounded totals with decimal arithmetic instead of floats',
      'Replaced the blocking call with its async counterpart',
    ],
  },
  {
    name: 'test',
    weight: 0.15,
    success: t(0.912, 0.915, 0.92),
    quality: t(84, 85, 86),
    routing: EASY_ROUTING,
    complexity: 35,
    files: 3,
    tokens: 6000,
    seconds: 120,
    costBias: 0,
    templates: [
      'Add unit tests for {module} edge cases',
      'Fix flaky {suite} tests that fail intermittently on CI',
      'Increase test coverage of the {module} module to {pct}%',
      'Write integration tests for the {module} {api} endpoint',
      'Replace mocks in the {suite} tests with shared fixtures',
    ],
    summaries: [
      'Added parametrized tests covering the edge cases',
      'Replaced sleeps with explicit waits on the awaited condition',
      'Introduced shared fixtures and removed duplicated setup',
      'Froze the clock in tests that depended on the current time',
      'Isolated the tests from the network with a fake HTTP server',
      'Added property-based tests for the parser',
      'Seeded the random generator so test data repeats',
      'Split the slow suite and marked it for nightly runs',
    ],
  },
  {
    name: 'feature',
    weight: 0.14,
    success: t(0.62, 0.76, 0.86),
    quality: t(70, 79, 87),
    routing: MIDDLE_ROUTING,
    complexity: 55,
    files: 8,
    tokens: 14000,
    seconds: 300,
    costBias: 0.08,
    templates: [
      'Add {feature} to the {module} module',
      'Implement {feature} for the {module} {api} endpoint',
      'Support {format} export in {module}',
      'Add a CLI command to {action}',
    ],
    summaries: [
      'Added the endpoint behind a feature flag with tests',
      'Implemented a token-bucket rate limiter as middleware',
      'Added cursor-based pagination to the list endpoints',
      'Streamed the export instead of building it in memory',
      'Added a background job with retries for the new workflow',
      'Introduced a settings schema and documented the new options',
      'Added audit log entries for every state change',
      'Wired the new command into the CLI with help text and tests',
    ],
  },
  {
    name: 'refactor',
    weight: 0.12,
    success: t(0.5, 0.68, 0.86),
    quality: t(64, 76, 89),
    routing: HARD_ROUTING,
    complexity: 65,
    files: 12,
    tokens: 18000,
    seconds: 360,
    costBias: 0.15,
    templates: [
      'Refactor the {module} module to use {pattern}',
      'Extract {concern} logic from {module} into a separate service',
      'Replace callbacks in {module} with async/await',
      'Split the {module} god class into smaller components',
      'Remove duplicated {concern} logic across {module} handlers',
    ],
    summaries: [
      'Extracted an interface and injected dependencies through the constructor',
      'Moved shared logic into a single module and updated call sites',
      'Replaced callback chains with async functions',
      'Split the class along its responsibilities into three collaborators',
      'Introduced a repository layer between handlers and the database',
      'Replaced conditionals on type with a strategy table',
      'Made the data classes immutable and removed setters',
      'Centralized error handling in one middleware',
      'Deleted dead code paths found by coverage',
    ],
  },
  {
    name: 'docs',
    weight: 0.1,
    success: t(0.935, 0.937, 0.94),
    quality: t(86, 87, 88),
    routing: EASY_ROUTING,
    complexity: 20,
    files: 1,
    tokens: 2500,
    seconds: 45,
    costBias: 0,
    templates: [
      'Update the README with {topic}',
      'Document the {module} {api} API',
      'Write a guide to {topic}',
      'Add docstrings to public functions in {module}',
      'Fix broken links in the {module} docs',
    ],
    summaries: [
      'Rewrote the README sections with runnable examples',
      'Added docstrings with parameter and return descriptions',
      'Generated the API reference from the type annotations',
      'Added a troubleshooting section for the common errors',
      'Fixed relative links and added a link checker to CI',
      'Documented every configuration option with its default',
      'Added an architecture diagram and a short overview',
    ],
  },
  {
    name: 'review',
    weight: 0.08,
    success: t(0.8, 0.86, 0.9),
    quality: t(74, 80, 86),
    routing: MIDDLE_ROUTING,
    complexity: 40,
    files: 6,
    tokens: 9000,
    seconds: 90,
    costBias: 0.03,
    templates: [
      'Review the pull request that changes {module} {concern}',
      'Review {module} for {review}',
      'Code review of the new {feature} implementation',
    ],
    summaries: [
      'Approved with comments on naming and missing tests',
      'Requested changes: unhandled error paths in the new code',
      'Flagged a possible race condition and suggested a lock',
      'Suggested splitting the change into two pull requests',
      'Approved after verifying the migration is reversible',
      'Pointed out an N+1 query in the new endpoint',
    ],
  },
  {
    name: 'deps',
    weight: 0.06,
    success: t(0.88, 0.9, 0.91),
    quality: t(85, 86, 87),
    routing: EASY_ROUTING,
    complexity: 30,
    files: 2,
    tokens: 3000,
    seconds: 60,
    costBias: 0,
    templates: [
      'Bump {dep} to the latest {level} version',
      'Update dependencies in {module} and fix breaking changes',
      'Replace deprecated {dep} calls with {dep2}',
      'Pin {dep} to fix the broken build',
    ],
    summaries: [
      'Bumped the version and regenerated the lock file',
      'Updated the call sites for the renamed API',
      'Pinned the transitive dependency that broke the build',
      'Replaced the deprecated client with its successor',
      'Removed an unused dependency',
    ],
  },
  {
    name: 'migration',
    weight: 0.05,
    success: t(0.42, 0.62, 0.83),
    quality: t(62, 74, 88),
    routing: HARD_ROUTING,
    complexity: 72,
    files: 10,
    tokens: 22000,
    seconds: 540,
    costBias: 0.2,
    templates: [
      'Migrate {module} from {migrate}',
      'Write a database migration to add {column} to the {table} table',
      'Upgrade {module} to {framework}',
      'Move {module} configuration from environment variables to a config file',
    ],
    summaries: [
      'Wrote a reversible migration with a backfill in batches',
      'Migrated the models and ran both versions side by side behind a flag',
      'Updated the ORM queries to the new API and fixed the type errors',
      'Added the column as nullable, backfilled, then made it required',
      'Ported the build configuration and removed the old tool',
      'Moved settings into a typed config file with validation',
    ],
  },
  {
    name: 'perf',
    weight: 0.05,
    success: t(0.55, 0.7, 0.82),
    quality: t(66, 76, 86),
    routing: HARD_ROUTING,
    complexity: 65,
    files: 4,
    tokens: 12000,
    seconds: 240,
    costBias: 0.1,
    templates: [
      'Speed up {module} {concern} by adding {perfthing}',
      'Reduce memory usage of {module} during {op}',
      'Optimize slow {query} queries in {module}',
      'Profile and fix the p99 latency regression in {module}',
    ],
    summaries: [
      'Batched the per-row lookups into one query',
      'Added an index on the filtered columns',
      'Cached the computed results with a bounded LRU',
      'Streamed rows instead of loading the whole result set',
      'Moved the heavy work to a background worker',
      'Reused connections through a pool',
    ],
  },
  {
    name: 'security',
    weight: 0.05,
    success: t(0.45, 0.65, 0.87),
    quality: t(63, 75, 89),
    routing: HARD_ROUTING,
    complexity: 68,
    files: 5,
    tokens: 12000,
    seconds: 240,
    costBias: 0.12,
    templates: [
      'Fix {vuln} vulnerability in {module}',
      'Add input validation to {module} to prevent {vuln}',
      'Remove hardcoded credentials from {module} and rotate the secrets',
      'Audit {module} for {vuln} issues',
      'Enforce {authz} on the {module} {api} endpoint',
    ],
    summaries: [
      'Switched to parameterized queries everywhere',
      'Escaped output in templates and added a content security policy',
      'Moved secrets to the secret manager and rotated them',
      'Added an allow-list for outbound URLs',
      'Checked permissions in one decorator on every handler',
      'Resolved paths and rejected those outside the base directory',
    ],
  },
];

export const FILLERS: Record<string, readonly string[]> = {
  bug: ['a memory leak', 'a null pointer exception', 'incorrect timezone handling', 'a deadlock', 'stale cache entries', 'wrong rounding of totals'],
  input: ['an empty payload', 'unicode input', 'a malformed date', 'a missing header', 'a very large file'],
  errorcase: ['network timeouts', 'expired tokens', 'partial failures', 'rate limiting'],
  concern: ['validation', 'retry', 'caching', 'serialization', 'error handling', 'configuration loading'],
  suite: ['integration', 'end-to-end', 'snapshot', 'contract', 'unit', 'browser'],
  pct: ['80', '85', '90', '95'],
  api: ['create', 'list', 'update', 'delete', 'search', 'export'],
  feature: ['rate limiting', 'pagination', 'audit logging', 'webhooks', 'feature flags', 'bulk import', 'search filters'],
  format: ['CSV', 'JSON', 'Parquet', 'PDF'],
  action: ['rotate API keys', 'prune old records', 'replay failed jobs', 'export metrics', 'seed a development database'],
  pattern: ['dependency injection', 'the repository pattern', 'async/await', 'typed data classes', 'a strategy pattern', 'structured logging'],
  topic: ['installation steps', 'configuration options', 'the deployment process', 'troubleshooting tips', 'the architecture overview', 'local development setup'],
  review: ['error handling', 'thread safety', 'API consistency', 'readability', 'test coverage'],
  dep: ['requests', 'httpx', 'pydantic', 'fastapi', 'numpy', 'axios', 'react', 'express', 'urllib3'],
  dep2: ['httpx', 'aiohttp', 'native fetch', 'the standard library'],
  level: ['patch', 'minor', 'major'],
  migrate: ['SQLAlchemy 1.4 to SQLAlchemy 2.0', 'Pydantic v1 to Pydantic v2', 'REST to gRPC', 'MySQL to PostgreSQL', 'webpack to Vite', 'Jest to Vitest', 'setup.py to pyproject.toml'],
  framework: ['Python 3.12', 'Django 5', 'React 18', 'Node 20', 'Spring Boot 3'],
  column: ['a created_at index', 'a soft-delete flag', 'a tenant_id column', 'a unique email constraint'],
  table: ['users', 'orders', 'invoices', 'events', 'sessions'],
  perfthing: ['a cache', 'batching', 'an index', 'connection pooling', 'lazy loading'],
  op: ['bulk import', 'report generation', 'startup', 'serialization'],
  query: ['N+1', 'full table scan', 'aggregation', 'search'],
  vuln: ['SQL injection', 'XSS', 'SSRF', 'path traversal', 'insecure deserialization', 'CSRF'],
  authz: ['role-based access control', 'token scopes', 'tenant isolation'],
};

export const MODULES = [
  'authentication', 'billing', 'search', 'notification', 'payments', 'reporting', 'scheduler',
  'API client', 'session', 'export', 'webhook', 'checkout', 'permissions', 'storage',
] as const;

export interface RepoSpec {
  name: string;
  /** Added to every success probability in this repo (legacy code is harder). */
  difficulty: number;
  /** Task types this repo sees more (or less) of than usual. */
  typeBoost?: Record<string, number>;
}

/** In popularity order (the generator skews towards the front). */
export const REPOS: readonly RepoSpec[] = [
  { name: 'mahavishnu', difficulty: 0 },
  { name: 'api-gateway', difficulty: 0.01 },
  { name: 'web-dashboard', difficulty: 0.02 },
  { name: 'billing-service', difficulty: -0.02 },
  { name: 'session-buddy', difficulty: 0.01 },
  { name: 'data-pipeline', difficulty: -0.03 },
  { name: 'legacy-monolith', difficulty: -0.08, typeBoost: { refactor: 2, migration: 2, docs: 0.5 } },
  { name: 'auth-service', difficulty: -0.01, typeBoost: { security: 3 } },
  { name: 'mobile-app', difficulty: 0 },
  { name: 'infra-terraform', difficulty: -0.04, typeBoost: { deps: 2, migration: 1.5, feature: 0.5 } },
  { name: 'search-indexer', difficulty: -0.02, typeBoost: { perf: 2.5 } },
  { name: 'docs-site', difficulty: 0.04, typeBoost: { docs: 6, refactor: 0.3, migration: 0.2, security: 0.3 } },
  { name: 'notification-hub', difficulty: 0.01 },
  { name: 'ml-platform', difficulty: -0.03, typeBoost: { perf: 2 } },
  { name: 'cli-tools', difficulty: 0.03 },
  { name: 'payments-core', difficulty: -0.05, typeBoost: { security: 2, test: 1.5 } },
  { name: 'inventory-service', difficulty: 0 },
  { name: 'analytics-etl', difficulty: -0.02 },
  { name: 'admin-portal', difficulty: 0.02 },
  { name: 'shared-utils', difficulty: 0.03, typeBoost: { deps: 2, test: 1.5 } },
];

export interface PoolSpec {
  name: string;
  /** Added to success probability. */
  reliability: number;
  /** Typical peak memory in MB. */
  memoryMb: number;
  /** Crash-prone pools fail with error_type crash more often. */
  crashShare: number;
}

export const POOLS: readonly PoolSpec[] = [
  { name: 'session-buddy', reliability: 0, memoryMb: 768, crashShare: 0.1 },
  { name: 'mahavishnu-local', reliability: 0.01, memoryMb: 512, crashShare: 0.08 },
  { name: 'kubernetes', reliability: 0, memoryMb: 1536, crashShare: 0.12 },
  { name: 'cloud-burst', reliability: -0.04, memoryMb: 2048, crashShare: 0.3 },
];

export const TOPOLOGIES = [
  { name: null, weight: 0.75 },
  { name: 'hierarchical', weight: 0.1 },
  { name: 'mesh', weight: 0.1 },
  { name: 'star', weight: 0.05 },
] as const;

/** A swarm helps hard tasks a little (hierarchical most). */
export const TOPOLOGY_BONUS: Record<string, number> = { hierarchical: 0.04, mesh: 0.025, star: 0.01 };

export const SERVICES = [
  { name: 'mahavishnu-orchestrator', weight: 0.5 },
  { name: 'session-buddy', weight: 0.25 },
  { name: 'crackerjack-agent', weight: 0.15 },
  { name: 'ci-review-bot', weight: 0.1 },
] as const;

export const ERROR_MESSAGES: Record<'timeout' | 'quality_gate' | 'crash' | 'validation' | 'unknown', readonly string[]> = {
  timeout: ['Task exceeded the 900s time limit', 'Agent timed out waiting for the test run', 'Model API call timed out after 120s'],
  quality_gate: [
    'Quality gate failed: coverage 72% below threshold 80%',
    'Quality gate failed: 3 lint errors',
    'Quality gate failed: type check reported 5 errors',
    'Quality gate failed: 2 of 48 tests failed',
    'Quality gate failed: complexity above the allowed maximum',
  ],
  crash: ['Agent process exited with code 137 (out of memory)', 'Unhandled exception: KeyError in tool dispatcher', 'Worker lost its connection to the pool'],
  validation: ['Patch did not apply cleanly', 'Output failed schema validation: missing field "files"', 'Generated code does not parse'],
  unknown: ['Unknown error', 'Upstream model API returned 502'],
};

/** Relative activity by UTC hour of day: a working-hours rhythm. */
export const HOURLY_ACTIVITY = [
  0.15, 0.1, 0.08, 0.08, 0.1, 0.15, 0.3, 0.6, 1.0, 1.3, 1.4, 1.3, 1.0, 1.2, 1.4, 1.4, 1.3, 1.1, 0.8, 0.6, 0.45, 0.35, 0.25, 0.2,
];
export const WEEKEND_ACTIVITY = 0.35;
