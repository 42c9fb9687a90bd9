-- Solution patterns merged by embedding similarity. Normalized text already merges spellings
-- (pattern_id = uuid5 of the normalized summary); a paraphrase gets its own pattern_id, and once
-- its summary has a vector that is at least the documented threshold (cosine) close to an older
-- pattern's, it becomes an alias: its counts move into the canonical row, its row goes, and later
-- executions with that summary count toward the canonical pattern.
CREATE TABLE solution_aliases (
    pattern_id UUID PRIMARY KEY,
    canonical_id UUID NOT NULL,
    similarity DOUBLE NOT NULL,
    model_id VARCHAR NOT NULL,
    merged_at TIMESTAMP NOT NULL
);

-- The model that made solutions.embedding: patterns are compared only within one model, and a
-- model switch re-embeds them.
ALTER TABLE solutions ADD COLUMN embedding_model VARCHAR;
