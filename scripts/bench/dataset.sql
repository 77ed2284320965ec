-- The benchmark's reference dataset: pgbench-style tables at scale :scale, and a wide table with
-- jsonb and text. About 400 MB on disk at the default scale (16) and :wide_rows (150000).
\ir pgbench-tables.sql

CREATE TABLE documents (
  id bigserial PRIMARY KEY,
  title text NOT NULL,
  body text NOT NULL,
  attributes jsonb NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO documents (title, body, attributes, created_at)
SELECT 'Document ' || g,
       repeat(md5(g::text) || ' lorem ipsum dolor sit amet ', 12),
       jsonb_build_object('id', g, 'tags', jsonb_build_array('alpha', 'beta', g % 17), 'owner', 'user' || (g % 1000),
                          'metrics', jsonb_build_object('views', g * 3, 'score', (g % 100) / 10.0), 'note', md5((g * 31)::text)),
       timestamptz '2026-01-01' + g * interval '1 minute'
  FROM generate_series(1, :wide_rows) g;
CREATE INDEX documents_created_idx ON documents (created_at);
CREATE INDEX documents_attributes_idx ON documents USING gin (attributes);
ANALYZE;
