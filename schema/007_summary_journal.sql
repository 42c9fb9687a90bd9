-- Summary deltas that are committed with their executions but not yet merged into the summary
-- tables. Merging costs a few milliseconds per table whatever its size, so the writer journals
-- each commit's delta here (one row, in the commit's transaction) and merges them in bulk about
-- once a second, deleting the rows it merged in the same transaction. At start, what a stopped
-- process left here is merged first: nothing is counted twice or lost.
CREATE TABLE summary_journal (
    seq BIGINT NOT NULL,
    committed_at TIMESTAMP NOT NULL,
    -- {"<summary table>": [[cell, ...], ...]} in the table's column order; times as ISO strings.
    deltas VARCHAR NOT NULL
);
