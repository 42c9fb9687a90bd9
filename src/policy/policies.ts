// Quality policies: one current policy per repository (quality_policies) and an append-only
// history of every change (quality_policy_history), each change and its history row in one
// transaction. Shared by the CLI (`orb-learn policy …`), the HTTP API and code.
import { randomUUID } from 'node:crypto';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { inTransaction } from '../store/sql.js';
import { firstIssue } from '../convert/issues.js';

export const MATURITIES = ['prototype', 'growing', 'mature', 'critical'] as const;
export const STRICTNESS_LEVELS = ['lenient', 'standard', 'strict', 'very_strict'] as const;
export type Maturity = (typeof MATURITIES)[number];
export type Strictness = (typeof STRICTNESS_LEVELS)[number];

/** What a new policy starts from for every field not given: by maturity (growing when none is given). */
export const MATURITY_DEFAULTS: Readonly<Record<Maturity, { coverage_threshold: number; strictness_level: Strictness }>> = {
  prototype: { coverage_threshold: 50, strictness_level: 'lenient' },
  growing: { coverage_threshold: 70, strictness_level: 'standard' },
  mature: { coverage_threshold: 80, strictness_level: 'strict' },
  critical: { coverage_threshold: 90, strictness_level: 'very_strict' },
};
export const DEFAULT_MATURITY: Maturity = 'growing';

/** A manual change: repo required; absent fields keep their value (or take the maturity's default). */
export const PolicyInput = z.strictObject({
  repo: z.string({ error: (i) => (i.input === undefined ? 'is required' : undefined) }).trim().min(1, 'must not be empty'),
  project_maturity: z.enum(MATURITIES).optional(),
  // Strings from flags or query strings are numbers too; '' and null are not.
  coverage_threshold: z
    .preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().finite().min(0).max(100))
    .optional(),
  strictness_level: z.enum(STRICTNESS_LEVELS).optional(),
});
export type PolicyInput = z.input<typeof PolicyInput>;

export interface Policy {
  policy_id: string;
  repo: string;
  project_maturity: Maturity | null;
  coverage_threshold: number | null;
  strictness_level: Strictness | null;
  last_adjusted: Date | null;
  adjustment_reason: string | null;
}

export type ChangeSource = 'manual' | 'adjustment';

export interface PolicyValues {
  project_maturity: Maturity | null;
  coverage_threshold: number | null;
  strictness_level: Strictness | null;
}

export interface PolicyChange {
  change_id: number;
  policy_id: string;
  repo: string;
  changed_at: Date;
  source: ChangeSource;
  before: PolicyValues | null;
  after: PolicyValues;
  reason: string;
  evidence: unknown;
}

export interface SetPolicyResult {
  policy: Policy;
  created: boolean;
  /** null when the input matched the current policy: nothing was written. */
  change: PolicyChange | null;
}

/** Parses a policy input; the error names the field. */
export function parsePolicyInput(raw: unknown): z.output<typeof PolicyInput> {
  const parsed = PolicyInput.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new InvalidInputError(`policy: ${firstIssue(parsed.error)}`);
}

const POLICY_COLUMNS = 'policy_id, repo, project_maturity, coverage_threshold, strictness_level, last_adjusted, adjustment_reason';

function toPolicy(r: Record<string, unknown>): Policy {
  return {
    policy_id: String(r.policy_id),
    repo: String(r.repo),
    project_maturity: (r.project_maturity ?? null) as Maturity | null,
    coverage_threshold: r.coverage_threshold === null || r.coverage_threshold === undefined ? null : Number(r.coverage_threshold),
    strictness_level: (r.strictness_level ?? null) as Strictness | null,
    last_adjusted: (r.last_adjusted as Date | null) ?? null,
    adjustment_reason: (r.adjustment_reason as string | null) ?? null,
  };
}

async function rows(conn: DuckDBConnection, sql: string, values: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql, values)).getRowObjectsJS() as Record<string, unknown>[];
}

export async function listPolicies(conn: DuckDBConnection): Promise<Policy[]> {
  return (await rows(conn, `SELECT ${POLICY_COLUMNS} FROM quality_policies ORDER BY repo`)).map(toPolicy);
}

export async function getPolicy(conn: DuckDBConnection, repo: string): Promise<Policy | null> {
  const r = await rows(conn, `SELECT ${POLICY_COLUMNS} FROM quality_policies WHERE repo = $1`, [repo]);
  return r.length ? toPolicy(r[0]!) : null;
}

const values = (p: PolicyValues): PolicyValues => ({ project_maturity: p.project_maturity, coverage_threshold: p.coverage_threshold, strictness_level: p.strictness_level });
const sameValues = (a: PolicyValues, b: PolicyValues) =>
  a.project_maturity === b.project_maturity && a.coverage_threshold === b.coverage_threshold && a.strictness_level === b.strictness_level;

/** Appends one history row; the caller holds the transaction. */
export async function recordChange(
  conn: DuckDBConnection,
  c: { policy_id: string; repo: string; changed_at: Date; source: ChangeSource; before: PolicyValues | null; after: PolicyValues; reason: string; evidence?: unknown },
): Promise<PolicyChange> {
  const r = await rows(
    conn,
    `INSERT INTO quality_policy_history (policy_id, repo, changed_at, source,
        project_maturity_before, project_maturity_after, coverage_threshold_before, coverage_threshold_after,
        strictness_level_before, strictness_level_after, reason, evidence)
      VALUES ($1::UUID, $2, $3::TIMESTAMP, $4, $5, $6, $7, $8, $9, $10, $11, $12::JSON)
      RETURNING change_id`,
    [
      c.policy_id,
      c.repo,
      c.changed_at.toISOString(),
      c.source,
      c.before?.project_maturity ?? null,
      c.after.project_maturity,
      c.before?.coverage_threshold ?? null,
      c.after.coverage_threshold,
      c.before?.strictness_level ?? null,
      c.after.strictness_level,
      c.reason,
      c.evidence === undefined ? null : JSON.stringify(c.evidence),
    ],
  );
  return { change_id: Number(r[0]!.change_id), ...c, evidence: c.evidence ?? null };
}

/**
 * Creates or changes the policy of input.repo by hand, and records the change in the history, in
 * one transaction. Fields not given keep their current value; a new policy takes the defaults of
 * its maturity (growing when none is given). Sets last_adjusted and adjustment_reason ("manual: …"),
 * which also holds off automatic adjustment (see adjust.ts). An input that changes nothing writes
 * nothing.
 */
export async function setPolicy(conn: DuckDBConnection, input: unknown, reason?: string, opts: { now?: Date } = {}): Promise<SetPolicyResult> {
  const p = parsePolicyInput(input);
  const why = reason?.trim() || 'manual change';
  const now = opts.now ?? new Date();
  return inTransaction(conn, async () => {
    const current = await getPolicy(conn, p.repo);
    const maturity = p.project_maturity ?? current?.project_maturity ?? DEFAULT_MATURITY;
    const after: PolicyValues = current
      ? {
          project_maturity: p.project_maturity ?? current.project_maturity,
          coverage_threshold: p.coverage_threshold ?? current.coverage_threshold,
          strictness_level: p.strictness_level ?? current.strictness_level,
        }
      : {
          project_maturity: maturity,
          coverage_threshold: p.coverage_threshold ?? MATURITY_DEFAULTS[maturity].coverage_threshold,
          strictness_level: p.strictness_level ?? MATURITY_DEFAULTS[maturity].strictness_level,
        };
    if (current && sameValues(current, after)) return { policy: current, created: false, change: null };
    const policy_id = current?.policy_id ?? randomUUID();
    const adjustment_reason = `manual: ${why}`;
    if (current) {
      await conn.run(
        `UPDATE quality_policies SET project_maturity = $1, coverage_threshold = $2, strictness_level = $3,
            last_adjusted = $4::TIMESTAMP, adjustment_reason = $5 WHERE policy_id = $6::UUID`,
        [after.project_maturity, after.coverage_threshold, after.strictness_level, now.toISOString(), adjustment_reason, policy_id],
      );
    } else {
      await conn.run(
        `INSERT INTO quality_policies (${POLICY_COLUMNS}) VALUES ($1::UUID, $2, $3, $4, $5, $6::TIMESTAMP, $7)`,
        [policy_id, p.repo, after.project_maturity, after.coverage_threshold, after.strictness_level, now.toISOString(), adjustment_reason],
      );
    }
    const change = await recordChange(conn, {
      policy_id,
      repo: p.repo,
      changed_at: now,
      source: 'manual',
      before: current ? values(current) : null,
      after,
      reason: why,
    });
    return { policy: { policy_id, repo: p.repo, ...after, last_adjusted: now, adjustment_reason }, created: !current, change };
  });
}

function toChange(r: Record<string, unknown>): PolicyChange {
  const before: PolicyValues | null =
    r.project_maturity_before === null && r.coverage_threshold_before === null && r.strictness_level_before === null
      ? null
      : {
          project_maturity: (r.project_maturity_before ?? null) as Maturity | null,
          coverage_threshold: r.coverage_threshold_before === null ? null : Number(r.coverage_threshold_before),
          strictness_level: (r.strictness_level_before ?? null) as Strictness | null,
        };
  return {
    change_id: Number(r.change_id),
    policy_id: String(r.policy_id),
    repo: String(r.repo),
    changed_at: r.changed_at as Date,
    source: r.source as ChangeSource,
    before,
    after: {
      project_maturity: (r.project_maturity_after ?? null) as Maturity | null,
      coverage_threshold: r.coverage_threshold_after === null ? null : Number(r.coverage_threshold_after),
      strictness_level: (r.strictness_level_after ?? null) as Strictness | null,
    },
    reason: String(r.reason),
    evidence: typeof r.evidence === 'string' ? JSON.parse(r.evidence) : null,
  };
}

/** Every recorded change, oldest first; of one repository when repo is given. */
export async function policyHistory(conn: DuckDBConnection, opts: { repo?: string; limit?: number } = {}): Promise<PolicyChange[]> {
  const vals: DuckDBValue[] = [];
  let filter = '';
  if (opts.repo !== undefined) {
    vals.push(opts.repo);
    filter = 'WHERE repo = $1';
  }
  // The last `limit` changes, still oldest first.
  const limit = opts.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(opts.limit))}` : '';
  const r = await rows(conn, `SELECT * FROM (SELECT * FROM quality_policy_history ${filter} ORDER BY change_id DESC ${limit}) ORDER BY change_id`, vals);
  return r.map(toChange);
}
