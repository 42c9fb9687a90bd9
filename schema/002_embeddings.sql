-- Embeddings live apart from executions (the review's option 3), one row per execution and model,
-- int8-quantized with a per-vector scale: 1 byte a dimension instead of float32's 4.
-- Queries compare only vectors of the same model_id.

CREATE TABLE embedding_models (
    model_id VARCHAR PRIMARY KEY,
    dimension INTEGER NOT NULL,
    source VARCHAR,
    first_used_at TIMESTAMP NOT NULL
);

CREATE TABLE execution_embeddings (
    task_id UUID NOT NULL,
    model_id VARCHAR NOT NULL,
    -- sha256 of the embedded content (hex, 128 bits): identical contents share one computation.
    content_hash VARCHAR NOT NULL,
    scale FLOAT NOT NULL,
    embedding TINYINT[] NOT NULL,
    embedded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task_id, model_id)
);

-- Float vectors for analysts: list_cosine_similarity(a.embedding, b.embedding) works on these.
CREATE VIEW execution_vectors AS
SELECT task_id, model_id, list_transform(embedding, x -> x * scale)::FLOAT[] AS embedding
FROM execution_embeddings;
