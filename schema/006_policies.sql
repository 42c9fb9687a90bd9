-- Quality policies: one current policy per repository (quality_policies, from 001) and the history
-- of every change made to one, by hand or by the evidence-driven adjustment (src/policy/).
-- Value checks (maturity, strictness, coverage 0–100) live in the zod schema of
-- src/policy/policies.ts, the one writer of these tables: DuckDB cannot add a CHECK to an
-- existing table.

-- One current policy per repository.
CREATE UNIQUE INDEX quality_policies_repo ON quality_policies (repo);

CREATE SEQUENCE quality_policy_history_seq START 1;

-- Append-only: one row per change, written in the same transaction as the change itself.
CREATE TABLE quality_policy_history (
    -- Orders changes that share a changed_at.
    change_id BIGINT PRIMARY KEY DEFAULT nextval('quality_policy_history_seq'),
    policy_id UUID NOT NULL,
    repo VARCHAR NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL CHECK (source IN ('manual', 'adjustment')),
    -- NULL "before" values: the policy did not exist yet.
    project_maturity_before VARCHAR,
    project_maturity_after VARCHAR,
    coverage_threshold_before DOUBLE,
    coverage_threshold_after DOUBLE,
    strictness_level_before VARCHAR,
    strictness_level_after VARCHAR,
    reason VARCHAR NOT NULL,
    -- The numbers behind an adjustment (windows, counts, rates, z, deltas); NULL for manual changes.
    evidence JSON
);
