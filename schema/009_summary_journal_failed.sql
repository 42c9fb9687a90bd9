-- Journal rows that could not be merged into the summary tables (the error says why). Kept, not
-- dropped, so an operator can see and repair them; the rest of the journal merges around them.
CREATE TABLE summary_journal_failed (
    seq BIGINT NOT NULL,
    committed_at TIMESTAMP NOT NULL,
    deltas VARCHAR NOT NULL,
    error VARCHAR NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
