-- The benchmark's reference dataset: pgbench-style tables at scale :scale, and a wide table with
-- jsonb and text. About 400 MB on disk at the default scale (16) and :wide_rows (150000).
CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88));
CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84));
CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84));
CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));

INSERT INTO pgbench_branches SELECT b, 0, '' FROM generate_series(1, :scale) b;
INSERT INTO pgbench_tellers SELECT t, (t - 1) / 10 + 1, 0, '' FROM generate_series(1, :scale * 10) t;
INSERT INTO pgbench_accounts SELECT a, (a - 1) / 100000 + 1, 0, '' FROM generate_series(1, :scale * 100000) a;
INSERT INTO pgbench_history
SELECT (g % (:scale * 10)) + 1, (g % :scale) + 1, ((g::bigint * 7919) % (:scale * 100000))::int + 1, g % 1000 - 500,
       timestamp '2026-01-01' + g * interval '1 second', 'history'
  FROM generate_series(1, :scale * 20000) g;

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
