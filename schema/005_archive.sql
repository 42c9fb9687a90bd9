-- Retention: the journal of maintenance runs (orb-learn archive). One row per run, written before
-- any file and marked 'done' in the same transaction that deletes the archived rows, so a run that
-- is not 'done' has deleted nothing: the next run removes its files and starts again.
-- status: started → staged → verified → moved → done; or rolled_back (interrupted, files removed
-- by a later run) / failed (an error, files removed at once).
CREATE TABLE maintenance_log (
    run_id UUID PRIMARY KEY,
    operation VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    cutoff TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    -- Absolute path of the archive folder, so recovery finds this run's files wherever it is run from.
    archive_dir VARCHAR NOT NULL,
    with_vectors BOOLEAN NOT NULL,
    executions_archived BIGINT NOT NULL DEFAULT 0,
    feedback_archived BIGINT NOT NULL DEFAULT 0,
    embeddings_archived BIGINT NOT NULL DEFAULT 0,
    -- Vectors of archived executions deleted without archiving (runs without --with-vectors).
    embeddings_dropped BIGINT NOT NULL DEFAULT 0,
    -- Hot rows whose key the archive already held (a redelivery after archiving): deleted, first write wins.
    duplicates_dropped BIGINT NOT NULL DEFAULT 0,
    -- Parquet files of this run, relative to archive_dir.
    files VARCHAR[] NOT NULL DEFAULT [],
    bytes BIGINT NOT NULL DEFAULT 0,
    error VARCHAR
);
